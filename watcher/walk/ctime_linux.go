package walk

import (
	"io/fs"
	"syscall"
)

// ChangeTime is when an entry last changed in any way (content, name,
// mode), in unix nanoseconds: unlike the modification time, no program
// can set it back, and a rename moves it.
func ChangeTime(st fs.FileInfo) int64 {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return sys.Ctim.Nano()
	}
	return st.ModTime().UnixNano()
}
