//go:build !linux

package watcher

import "io/fs"

// ctimeOf is the mtime where the change time is not at hand.
func ctimeOf(st fs.FileInfo) int64 { return st.ModTime().UnixNano() }
