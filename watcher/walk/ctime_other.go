//go:build !linux

package walk

import "io/fs"

// ChangeTime is the modification time where the change time is not at
// hand, in unix nanoseconds.
func ChangeTime(st fs.FileInfo) int64 { return st.ModTime().UnixNano() }
