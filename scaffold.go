package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/tree"
)

// skeleton is the task that `new` writes, but for metadata.json: small,
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

// runNew writes a new task folder, or copies a task to a sibling folder
// with a new version. It never overwrites anything.
func runNew(_ context.Context, args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("new", "[--description TEXT] [--version VERSION] NAME\n       ratchet-registry new --from PATH --version VERSION [NAME]",
		`Writes the folder NAME holding a complete, valid task: a fresh UUID, version
0.1.0, a label made from NAME, input and output schemas, a main.js that works
and one test case that passes. With --from, copies the task folder PATH to a
sibling folder with the new version: versions live side by side, so the old one
stays served. The copy is named after the version when PATH's folder is named
after its own version (greet/1.0.0 gives greet/1.1.0), NAME-VERSION otherwise
(add gives add-1.1.0); give NAME to choose. Nothing existing is overwritten.
With --uuid alone, prints a fresh UUID and writes nothing: the new identity
for a task folder that was copied without one.`)
	description := flags.String("description", "", "the task's description, in metadata.json")
	version := flags.String("version", "", "the version to write, SemVer 2.0.0 (default 0.1.0; required with --from)")
	from := flags.String("from", "", "copy the task folder `PATH` as a new version")
	printUUID := flags.Bool("uuid", false, "print a fresh UUID and write nothing")
	names, err := parseArgs(flags, args)
	if err != nil {
		return usageError(flags, err, stdout, stderr)
	}
	if *printUUID {
		if len(names) > 0 || *from != "" || *version != "" || *description != "" {
			return usageError(flags, errors.New("--uuid takes nothing else: it only prints a fresh UUID"), stdout, stderr)
		}
		fmt.Fprintln(stdout, uuid.NewString())
		return 0
	}
	if len(names) > 1 {
		return usageError(flags, fmt.Errorf("one NAME at a time, got %d: %s", len(names), strings.Join(names, " ")), stdout, stderr)
	}
	if *version != "" {
		if _, err := semver.StrictNewVersion(*version); err != nil {
			return usageError(flags, fmt.Errorf("--version %q is not a SemVer 2.0.0 version such as 1.2.0 (no leading v)", *version), stdout, stderr)
		}
	}
	var dst string
	if *from == "" {
		if len(names) == 0 {
			return usageError(flags, errors.New("no NAME: say which folder to write the task into"), stdout, stderr)
		}
		dst = names[0]
		err = newTask(dst, cmpOr(*version, "0.1.0"), *description)
	} else {
		switch {
		case *version == "":
			return usageError(flags, errors.New("--from needs --version: the version of the copy"), stdout, stderr)
		case *description != "":
			return usageError(flags, errors.New("--description is for a new task; with --from, edit the copy's metadata.json"), stdout, stderr)
		}
		dst = siblingName(*from, *version)
		if len(names) == 1 {
			dst = names[0]
		}
		err = copyTask(*from, dst, *version)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ratchet-registry new: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s\ncheck it with: ratchet-registry validate %s\n", dst, dst)
	return 0
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// newTask writes the skeleton into dst, which must not exist.
func newTask(dst, version, description string) error {
	base := filepath.Base(filepath.Clean(dst))
	if description == "" {
		description = "Greets someone by name. Replace this with what " + base + " does."
	}
	meta, err := json.MarshalIndent(struct {
		UUID        string `json:"uuid"`
		Version     string `json:"version"`
		Label       string `json:"label"`
		Description string `json:"description"`
	}{uuid.NewString(), version, labelFrom(base), description}, "", "  ")
	if err != nil {
		return err
	}
	return writeNew(dst, func(write func(name string, data []byte) error) error {
		if err := write("metadata.json", append(meta, '\n')); err != nil {
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

// siblingName is where --from puts the copy: beside PATH, named after the
// version when PATH is (the layout of examples/greet), NAME-VERSION
// otherwise.
func siblingName(from, version string) string {
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

// copyTask copies the task folder from to dst with a new version. from
// may be a symlink to the folder (the user's own choice, as a source's
// PATH may be); inside the task, links are followed as a source follows
// them, and one that leads outside the task is refused, since the copy
// would not be the task that serve loads.
func copyTask(from, dst, version string) error {
	real, err := filepath.EvalSymlinks(from)
	if err != nil {
		return fmt.Errorf("%s is not a task folder: %w", from, err)
	}
	metaPath := filepath.Join(from, "metadata.json")
	meta, err := os.ReadFile(filepath.Join(real, "metadata.json"))
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
	files, err := taskFiles(from, real)
	if err != nil {
		return err
	}
	newMeta := append(append(append([]byte{}, meta[:loc[4]]...), version...), meta[loc[5]:]...)
	fsys := registry.ConfinedFS(real, real)
	return writeNew(dst, func(write func(name string, data []byte) error) error {
		for _, name := range files {
			data := newMeta
			if name != "metadata.json" {
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

// taskFiles lists the regular files of the task folder real (from as the
// user gave it), as the loader walks it: hidden names (editor and VCS
// files) left out, symlinks followed while they stay inside the task,
// FIFOs and devices skipped. What cannot be read, or leads outside, is an
// error before anything is written.
func taskFiles(from, real string) ([]string, error) {
	var files []string
	bad := tree.Walk(registry.ConfinedFS(real, real), ".", func(name string, st fs.FileInfo) (bool, error) {
		if st.Mode().IsRegular() {
			files = append(files, name)
		}
		return true, nil
	})
	var errs []error
	for _, e := range bad {
		p := filepath.Join(from, filepath.FromSlash(e.Path))
		if errors.Is(e.Err, registry.ErrOutside) {
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
