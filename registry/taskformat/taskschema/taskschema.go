// Package taskschema holds the JSON Schemas of a task's metadata.json and
// of its test files, embedded so that the binary serves and writes them
// for editors, which then complete the keys and flag a typo as it is typed.
package taskschema

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// Write writes every schema into dir as NAME.schema.json, not
// metadata.json, so that the folder is never taken for a task; existing
// files are replaced. It calls wrote with each file's path once written.
func Write(dir string, wrote func(path string)) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range Names() {
		data, err := File(name)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, strings.TrimSuffix(name, ".json")+".schema.json")
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return err
		}
		wrote(dst)
	}
	return nil
}
