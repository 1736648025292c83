// Package registry is the domain of the catalogue: the task model, version
// order, loading a task from its files (a folder, a zip, any fs.FS),
// immutable snapshots published through an atomic swap, and the feed of
// change events. It knows nothing of watching, networks or serving.
//
// Tasks come from sources. Each kind of source lives in its own package
// beneath this one (fssource: a folder tree with its watcher; httpsource:
// another registry's index) and implements [Source]: its Run loads the
// source, then keeps it current, handing each [Update] to the Service,
// which applies it to the [Registry]. An Update says in its Complete field
// whether it lists everything the source holds. Remote sources share one
// schedule, [Poll], with its back-off. A new kind of source is a new
// package plus one line of wiring in the program's serve.go:
//
//	registry            the domain; imports no watcher and no net/http
//	registry/fssource   a folder, a zip or a collection on disk (imports watcher)
//	registry/httpsource an index.json and its bundles over HTTP (imports net/http)
//
// Sources never import one another; everything they share (loading a task
// from files, finding task roots in a tree, the poll loop) is here.
package registry
