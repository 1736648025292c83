package watcher

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// remoteFilesystem returns the type of the filesystem that holds root when
// it is one that delivers no inotify events for changes made elsewhere
// (another machine, the host of a container or VM), or "" otherwise.
// mountinfoPath is /proc/self/mountinfo, or a copy for tests.
func remoteFilesystem(mountinfoPath, root string) string {
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		real = root
	}
	f, err := os.Open(mountinfoPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	// Not mountinfo.ParentsFilter: it takes /work for a parent of /workshop.
	mounts, err := mountinfo.GetMountsFromReader(f, func(m *mountinfo.Info) (skip, stop bool) {
		return !within(real, m.Mountpoint), false
	})
	if err != nil {
		return ""
	}
	// The deepest mount point above the root is the filesystem it is on.
	best := (*mountinfo.Info)(nil)
	for _, m := range mounts {
		if best == nil || len(m.Mountpoint) >= len(best.Mountpoint) {
			best = m
		}
	}
	if best != nil && noEvents(best.FSType) {
		return best.FSType
	}
	return ""
}

func within(p, mountpoint string) bool {
	return mountpoint == "/" || p == mountpoint || strings.HasPrefix(p, mountpoint+"/")
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
