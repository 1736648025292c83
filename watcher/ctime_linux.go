package watcher

import (
	"io/fs"
	"syscall"
)

// ctimeOf is when the entry last changed in any way (content, name,
// mode): unlike the mtime, no program can set it back.
func ctimeOf(st fs.FileInfo) int64 {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return sys.Ctim.Nano()
	}
	return st.ModTime().UnixNano()
}
