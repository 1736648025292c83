// Package taskschema holds the JSON Schemas of a task's metadata.json and
// of its test files, embedded so that the binary serves and writes them
// for editors, which then complete the keys and flag a typo as it is typed.
package taskschema

import (
	"embed"
	"fmt"
)

//go:embed metadata.json test.json
var files embed.FS

// Names lists the schemas by file name.
func Names() []string { return []string{"metadata.json", "test.json"} }

// File returns the schema of that name.
func File(name string) ([]byte, error) {
	data, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("no task schema named %q: %w", name, err)
	}
	return data, nil
}
