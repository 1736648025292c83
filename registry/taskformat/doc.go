// Package taskformat is the task format: reading a task from its files (a
// folder, a zip, any fs.FS) into a [registry.Task], with every problem
// found on the way as a [registry.LoadError] that names the file, line and
// column; checking it (JSON with positions, JSON Schema, the script scan
// and parse, test cases); finding task roots in a tree; reading the lazily
// loaded files again ([Content]); and packing tasks (bundles, the index
// format that HTTP sources read).
//
// It knows nothing of where the files come from: the sources beneath
// registry hand it an fs.FS, a zip or a path, and send what it returns to
// the registry.
package taskformat
