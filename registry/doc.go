// Package registry is the domain of the catalogue: the task model, version
// order, immutable snapshots published through an atomic swap, the feed of
// change events, test verdicts, the Service that runs sources, and the
// [Source] interface. It parses no file, opens no archive, makes no system
// call and runs no JavaScript: reading a task from its files is the task
// format's (registry/taskformat), which builds each [Task] with [NewTask].
//
// Tasks come from sources. Each kind of source lives in its own package
// beneath this one (fssource: a folder tree with its watcher; httpsource:
// another registry's index; gitsource; ocisource) and implements [Source]:
// its Run loads the source, then keeps it current, handing each [Update]
// to the Service, which applies it to the [Registry]. An Update says in
// its Complete field whether it lists everything the source holds. Remote
// sources share one schedule, [Poll], with its back-off.
//
//	registry             the domain; imports no parser, watcher or net/http
//	registry/taskformat  the task format: load, check, pack
//	registry/fssource    a folder, a zip or a collection on disk (imports watcher)
//	registry/httpsource  an index.json and its bundles over HTTP
//	registry/gitsource   a git repository
//	registry/ocisource   an OCI registry
//	registry/runner      the sandboxed test workers and their scheduler
//
// Sources never import one another.
package registry
