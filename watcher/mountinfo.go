package watcher

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// remoteFilesystem returns the type of the filesystem that holds root when
// it is one that delivers no inotify events for changes made elsewhere
// (another machine, the host of a container or VM), or "" otherwise.
func remoteFilesystem(mountinfo, root string) string {
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		real = root
	}
	f, err := os.Open(mountinfo)
	if err != nil {
		return ""
	}
	defer f.Close()
	best, bestType := "", ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 5 || sep < 0 || sep+1 >= len(fields) {
			continue
		}
		mp := unescapeMount(fields[4])
		if !within(real, mp) || len(mp) < len(best) {
			continue
		}
		best, bestType = mp, fields[sep+1]
	}
	if noEvents(bestType) {
		return bestType
	}
	return ""
}

func within(p, mountpoint string) bool {
	if mountpoint == "/" {
		return true
	}
	return p == mountpoint || strings.HasPrefix(p, mountpoint+"/")
}

// noEvents lists the filesystems whose changes inotify does not see.
func noEvents(fstype string) bool {
	switch {
	case fstype == "9p", fstype == "virtiofs", fstype == "vboxsf", fstype == "vmhgfs",
		fstype == "cifs", fstype == "smb3", fstype == "smbfs",
		strings.HasPrefix(fstype, "nfs"), fstype == "fuse", strings.HasPrefix(fstype, "fuse."),
		fstype == "fuseblk", fstype == "glusterfs", fstype == "ceph", fstype == "afs", fstype == "prl_fs":
		return true
	}
	return false
}

// unescapeMount decodes the octal escapes (\040 for a space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
