// Package gitsource serves tasks from a git repository: it asks the remote
// where a ref points, fetches only the commit it names, and reads task
// files straight from git objects, without a checkout or a git binary.
package gitsource
