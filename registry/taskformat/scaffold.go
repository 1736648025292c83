package taskformat

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/Masterminds/semver/v3"
	"github.com/google/uuid"
	"github.com/ratchet-tasks/ratchet-registry/watcher/walk"
)

// skeleton is the task that Scaffold writes, but for metadata.json: small,
// valid, with a test that passes, so that an author starts from something
// that works.
var skeleton = map[string]string{
	"input.schema.json": `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "name": { "type": "string", "description": "Who to greet." }
  },
  "required": ["name"],
  "additionalProperties": false
}
`,
	"output.schema.json": `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "message": { "type": "string" }
  },
  "required": ["message"]
}
`,
	"main.js": `// One function expression: it receives the input, which input.schema.json
// describes, and returns the output, which output.schema.json describes.
(function(input) {
  return { message: "Hello, " + input.name + "!" };
})
`,
	"tests/greets-by-name.json": `{
  "input": { "name": "Ada" },
  "expected_output": { "message": "Hello, Ada!" }
}
`,
}

// Scaffold writes a new task into dst, which must not exist: a fresh
// UUID, the version given, a label made from dst's name, the description
// (one that says to replace it when empty), and a skeleton that is valid,
// with a test that passes, so that an author starts from something that
// works.
func Scaffold(dst, version, description string) error {
	base := filepath.Base(filepath.Clean(dst))
	if description == "" {
		description = "Greets someone by name. Replace this with what " + base + " does."
	}
	meta, err := json.MarshalIndent(struct {
		UUID        string `json:"uuid"`
		Version     string `json:"version"`
		Label       string `json:"label"`
		Description string `json:"description"`
	}{NewID(), version, labelFrom(base), description}, "", "  ")
	if err != nil {
		return err
	}
	return writeNew(dst, func(write func(name string, data []byte) error) error {
		if err := write(metadataFile, append(meta, '\n')); err != nil {
			return err
		}
		for _, name := range slices.Sorted(maps.Keys(skeleton)) {
			if err := write(name, []byte(skeleton[name])); err != nil {
				return err
			}
		}
		return nil
	})
}

// NewID is a fresh identity for a task: a random UUID, which `new` writes
// and `new --uuid` prints.
func NewID() string { return uuid.NewString() }

// labelFrom makes a label of a folder name: my-first_task is "My first task".
func labelFrom(name string) string {
	words := strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' || r == '.' || unicode.IsSpace(r) })
	if len(words) == 0 {
		return name
	}
	s := strings.Join(words, " ")
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// SiblingName is where a new version of the task folder from goes: beside
// it, named after the version when from is (the layout of
// examples/greet), NAME-VERSION otherwise.
func SiblingName(from, version string) string {
	from = filepath.Clean(from)
	base := filepath.Base(from)
	if _, err := semver.StrictNewVersion(base); err == nil {
		return filepath.Join(filepath.Dir(from), version)
	}
	return filepath.Join(filepath.Dir(from), base+"-"+version)
}

// versionField finds the version's value in metadata.json, so that the
// copy changes that and nothing else of the author's formatting.
var versionField = regexp.MustCompile(`("version"\s*:\s*)"((?:[^"\\]|\\.)*)"`)

// CopyVersion copies the task folder from to dst, which must not exist,
// with a new version: metadata.json changes in its version alone, keeping
// the author's formatting. from may be a symlink to the folder (the
// user's own choice, as a source's PATH may be); inside the task, links
// are followed as a source follows them, and one that leads outside the
// task is refused, since the copy would not be the task that serve loads.
func CopyVersion(from, dst, version string) error {
	real, err := filepath.EvalSymlinks(from)
	if err != nil {
		return fmt.Errorf("%s is not a task folder: %w", from, err)
	}
	metaPath := filepath.Join(from, metadataFile)
	meta, err := os.ReadFile(filepath.Join(real, metadataFile))
	if err != nil {
		return fmt.Errorf("%s is not a task folder: %w", from, err)
	}
	var fields struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(meta, &fields); err != nil {
		return fmt.Errorf("%s: %w (ratchet-registry validate %s says where)", metaPath, err, from)
	}
	if fields.Version == version {
		return fmt.Errorf("%s is already version %s: give the new version with --version", from, version)
	}
	loc := versionField.FindSubmatchIndex(meta)
	if loc == nil {
		return fmt.Errorf("%s has no \"version\" field to change", metaPath)
	}
	files, err := filesOf(from, real)
	if err != nil {
		return err
	}
	newMeta := append(append(append([]byte{}, meta[:loc[4]]...), version...), meta[loc[5]:]...)
	fsys := ConfinedFS(real, real)
	return writeNew(dst, func(write func(name string, data []byte) error) error {
		for _, name := range files {
			data := newMeta
			if name != metadataFile {
				if data, err = fs.ReadFile(fsys, name); err != nil {
					return err
				}
			}
			if err := write(name, data); err != nil {
				return err
			}
		}
		return nil
	})
}

// filesOf lists the regular files of the task folder real (from as the
// user gave it), as the loader walks it: hidden names (editor and VCS
// files) left out, symlinks followed while they stay inside the task,
// FIFOs and devices skipped. What cannot be read, or leads outside, is an
// error before anything is written.
func filesOf(from, real string) ([]string, error) {
	var files []string
	bad := walk.Walk(ConfinedFS(real, real), ".", func(name string, st fs.FileInfo) (bool, error) {
		if st.Mode().IsRegular() {
			files = append(files, name)
		}
		return true, nil
	})
	var errs []error
	for _, e := range bad {
		p := filepath.Join(from, filepath.FromSlash(e.Path))
		if errors.Is(e.Err, ErrOutside) {
			errs = append(errs, fmt.Errorf("%s is a symbolic link that leads outside the task folder: copy the file in its place first", p))
			continue
		}
		errs = append(errs, fmt.Errorf("cannot %s %s: %w", e.Op, p, e.Err))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("nothing written: %w", errors.Join(errs...))
	}
	return files, nil
}

// writeNew creates dst, which must not exist, and lets fill write files
// into it. On any failure it removes what it made, so that a second try
// does not meet a half-written folder.
func writeNew(dst string, fill func(write func(name string, data []byte) error) error) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(dst, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists: nothing written (choose another name, or remove it first)", dst)
		}
		return err
	}
	err := fill(func(name string, data []byte) error {
		p := filepath.Join(dst, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, data, 0o644)
	})
	if err != nil {
		os.RemoveAll(dst)
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return nil
}
