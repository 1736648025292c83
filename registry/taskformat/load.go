package taskformat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
	"github.com/google/uuid"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The files of the task format.
const (
	metadataFile = "metadata.json"
	inputSchema  = "input.schema.json"
	outputSchema = "output.schema.json"
	scriptFile   = "main.js"
	testsDir     = "tests"
)

// loadInput is one task root to load, whatever holds it.
type loadInput struct {
	loader  *Loader         // what loads share: compiled schemas
	fsys    fs.FS           // the task's files, rooted at the task
	source  string          // source name
	order   int             // source position
	root    string          // root key
	display string          // display path of the root; files are display + sep + name
	sep     string          // "/" for folders, "!/" straight after a zip's name
	open    registry.Opener // reads the files again, for lazy content
	maxFile int64
	// maxTests bounds the bytes of test files read; 0: MaxTestBytes.
	maxTests int64
}

// taskLoad gathers a task's parts and every problem found on the way.
type taskLoad struct {
	in         loadInput
	errs       []*registry.LoadError
	warns      []*registry.LoadError // problems in test files, which never drop the task
	sums       map[string][32]byte
	task       *registry.Task
	scriptFile registry.File   // main.js, once it parses
	testFiles  []registry.File // the test files, in name order
	schema     map[string]*jsonschema.Schema
	reach      map[*jsonschema.Schema]schemaReach // what each schema reads of a test case, found once a load
	// listed counts the problems of each file; past MaxProblemsPerFile
	// one more, kept in over, counts the rest.
	listed map[string]int
	over   map[string]*overflow
	// at is where the last problem was placed, so that placing the next
	// one further on counts from there, not from the start of the file.
	at place
}

// MaxProblemsPerFile bounds the problems listed for one file: a file can
// repeat one mistake (a misspelt key, valid JSON) for every line it has,
// and each listed problem costs its place and its share of every answer.
const MaxProblemsPerFile = 1000

// overflow is the problem that stands for those past the bound.
type overflow struct {
	e *registry.LoadError
	n int
}

// place is a byte offset in a file's data and its line and column.
type place struct {
	data           []byte
	off, line, col int
}

// loadTask reads and checks one task. It never stops at the first
// problem: every file is checked and every error returned. The task is
// nil when there is any error.
//
// Each call into a library that parses the task's files, and each read
// through a file system that decodes (an archive, a git object store), is
// guarded where it is made, so that its panic is an error on that file.
// This guard catches the rest, such as such a file system panicking while
// it lists tests/: an error on the task, not a dead process.
func loadTask(in loadInput) (*registry.Task, []*registry.LoadError) {
	type loaded struct {
		task *registry.Task
		errs []*registry.LoadError
	}
	r, err := registry.Guard("load the task", func() (loaded, error) {
		t, errs := loadFiles(in)
		return loaded{t, errs}, nil
	})
	if err != nil {
		return nil, []*registry.LoadError{{Source: in.source, Root: in.root, Path: in.display, Kind: registry.KindInvalid, Err: err}}
	}
	return r.task, r.errs
}

// loadFiles is loadTask without its guard.
func loadFiles(in loadInput) (*registry.Task, []*registry.LoadError) {
	l := &taskLoad{in: in, sums: map[string][32]byte{}, task: &registry.Task{}, schema: map[string]*jsonschema.Schema{}}
	l.metadata()
	l.task.InputSchema = l.jsonSchema(inputSchema)
	l.task.OutputSchema = l.jsonSchema(outputSchema)
	l.script()
	l.tests()
	if len(l.errs) > 0 {
		return nil, l.errs // warnings show once the task loads
	}
	t := l.task
	t.Warnings = l.warns
	t.Source, t.Root, t.Path = in.source, in.root, in.display
	t.Digest = digestFiles(l.sums)
	t.TestDigest = testDigest(l.sums)
	done, err := registry.NewTask(*t, registry.Stored{Order: in.order, Sep: in.sep, Open: in.open, Script: l.scriptFile, Tests: l.testFiles})
	if err != nil {
		// metadata() checked the version already: this is a loader bug,
		// reported rather than served.
		return nil, []*registry.LoadError{{Source: in.source, Root: in.root, File: metadataFile, Path: in.display + in.sep + metadataFile, Kind: registry.KindInvalid, Err: err}}
	}
	return done, nil
}

func (l *taskLoad) fail(file string, kind registry.Kind, data []byte, off int, err error) {
	if isTestFile(file) {
		l.keep(&l.warns, file, kind, data, off, err, false)
		return
	}
	l.keep(&l.errs, file, kind, data, off, err, false)
}

// advise reports a warning that leaves everything running: the test case
// it is about still runs; the task loads as it is.
func (l *taskLoad) advise(file string, kind registry.Kind, data []byte, off int, err error) {
	l.keep(&l.warns, file, kind, data, off, err, true)
}

// keep adds a problem to list, or counts it past MaxProblemsPerFile.
// Problems in test files, and advice, are warnings.
func (l *taskLoad) keep(list *[]*registry.LoadError, file string, kind registry.Kind, data []byte, off int, err error, advice bool) {
	if l.listed == nil {
		l.listed, l.over = map[string]int{}, map[string]*overflow{}
	}
	if l.listed[file] >= MaxProblemsPerFile {
		o := l.over[file]
		if o == nil {
			o = &overflow{e: l.problem(file, registry.KindInvalid, nil, -1, nil)}
			o.e.Severity = registry.SeverityWarning
			l.warns = append(l.warns, o.e)
			l.over[file] = o
		}
		o.n++
		o.e.Err = fmt.Errorf("%d more problems in this file are not listed: at most %d are listed for one file (the limit)", o.n, MaxProblemsPerFile)
		return
	}
	l.listed[file]++
	e := l.problem(file, kind, data, off, err)
	if isTestFile(file) || advice {
		e.Severity = registry.SeverityWarning
	}
	e.Advice = advice
	*list = append(*list, e)
}

func (l *taskLoad) problem(file string, kind registry.Kind, data []byte, off int, err error) *registry.LoadError {
	e := &registry.LoadError{Source: l.in.source, Root: l.in.root, File: file, Path: l.in.display + l.in.sep + file, Kind: kind, Err: err}
	if off >= 0 && data != nil {
		e.Line, e.Column = l.place(data, off)
	}
	return e
}

// place is lineCol, counting on from the last place in the same data when
// off lies after it: problems come mostly in file order, so placing all
// of a file's costs one pass over it, not one pass each.
func (l *taskLoad) place(data []byte, off int) (line, col int) {
	off = min(max(off, 0), len(data))
	p := l.at
	if len(p.data) != len(data) || len(data) == 0 || &p.data[0] != &data[0] || off < p.off {
		line, col = lineCol(data, off)
		l.at = place{data: data, off: off, line: line, col: col}
		return line, col
	}
	between := data[p.off:off]
	if nl := bytes.LastIndexByte(between, '\n'); nl >= 0 {
		line = p.line + bytes.Count(between, []byte{'\n'})
		col = utf8.RuneCount(between[nl+1:]) + 1
	} else {
		line, col = p.line, p.col+utf8.RuneCount(between)
	}
	l.at = place{data: data, off: off, line: line, col: col}
	return line, col
}

// bound reports a file that passes a bound (nesting, a number), where it
// passes it.
func (l *taskLoad) bound(name string, kind registry.Kind, data []byte, err error) {
	var be *boundError
	if errors.As(err, &be) {
		l.fail(name, kind, data, be.off, err)
		return
	}
	l.fail(name, kind, nil, -1, err)
}

// read reads a required or optional file, reporting what stops it.
func (l *taskLoad) read(name string, required bool) ([]byte, bool) {
	data, err := readFile(l.in.fsys, name, l.in.maxFile)
	switch {
	case err == nil:
		l.sums[name] = sha256.Sum256(data)
		return data, true
	case errors.Is(err, fs.ErrNotExist):
		if required {
			l.fail(name, registry.KindMissing, nil, -1, fmt.Errorf("required file %s is missing", name))
		}
	default:
		l.fail(name, registry.KindIO, nil, -1, err)
	}
	return nil, false
}

// decodeJSON parses a whole file as JSON into v, reporting a syntax error
// where it is; with v nil it only checks the syntax.
func (l *taskLoad) decodeJSON(name string, data []byte, v any) bool {
	if len(bytes.TrimSpace(data)) == 0 {
		l.fail(name, registry.KindSyntax, data, len(data), errors.New("file is empty"))
		return false
	}
	if bytes.HasPrefix(data, utf8BOM) {
		l.fail(name, registry.KindSyntax, data, 0, errors.New("file starts with a byte order mark (BOM): remove it, JSON files are UTF-8 without one"))
		return false
	}
	if !utf8.Valid(data) {
		l.fail(name, registry.KindSyntax, nil, -1, errors.New("file is not UTF-8"))
		return false
	}
	if err := jsonNesting(data, MaxNesting); err != nil {
		l.bound(name, registry.KindSyntax, data, err)
		return false
	}
	if v == nil {
		// Only the syntax is wanted: a scan, without building the
		// document; a decode only to say what is wrong.
		if json.Valid(data) {
			return true
		}
		v = new(any)
	}
	if err := json.Unmarshal(data, v); err != nil {
		off, ok := jsonErrorOffset(data, err)
		if !ok {
			off = -1
		}
		kind := registry.KindSyntax
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			kind = registry.KindInvalid
			off = skipSpace(data, 0) // the whole document has the wrong type
			err = fmt.Errorf("want a JSON object, found %s", te.Value)
		} else {
			off, err = explainJSONError(data, off, err)
		}
		l.fail(name, kind, data, off, err)
		return false
	}
	return true
}

// decodeObject checks that a file is JSON whose value is an object (or
// null, which decodes as none), as decodeJSON into a map would, without
// building the map: a test file's values are copied or decoded later only
// where a check needs them.
func (l *taskLoad) decodeObject(name string, data []byte) bool {
	if !l.decodeJSON(name, data, nil) {
		return false
	}
	if p := skipSpace(data, 0); data[p] == '{' || data[p] == 'n' {
		return true
	}
	// Not an object: decode only to word the error as decodeJSON does.
	return l.decodeJSON(name, data, new(map[string]json.RawMessage))
}

func (l *taskLoad) metadata() {
	data, ok := l.read(metadataFile, true)
	if !ok {
		return
	}
	var fields map[string]json.RawMessage
	if !l.decodeJSON(metadataFile, data, &fields) {
		return
	}
	l.task.Metadata = data
	// at finds where a field is in the file: a scan of it, so only when
	// there is something to report (at 100,000 tasks, seconds).
	at := func(key string) int {
		off, _ := pointerOffset(data, []string{key})
		return off
	}
	str := func(key string, required bool) (string, bool) {
		raw, present := fields[key]
		if !present {
			if required {
				l.missingField(data, fields, key)
				return "", false
			}
			return "", true
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			l.fail(metadataFile, registry.KindInvalid, data, at(key), fmt.Errorf("field %q must be a string, found %s", key, raw))
			return "", false
		}
		return s, true
	}
	_, hasUUID := fields["uuid"]
	if name, ok := str("name", false); ok && !hasUUID && strings.TrimSpace(name) != "" {
		l.task.ID = NameUUID(name)
		l.advise(metadataFile, registry.KindInvalid, data, at("name"), fmt.Errorf(
			`no "uuid": the task's identity is derived from its name, %s (UUIDv5 of %q); write "uuid": %q to keep it when the name changes`,
			l.task.ID, name, l.task.ID))
	} else if id, ok := str("uuid", true); ok {
		u, err := registry.Guard("parse the uuid", func() (uuid.UUID, error) { return uuid.Parse(id) })
		switch {
		case err != nil || len(id) != 36:
			l.fail(metadataFile, registry.KindInvalid, data, at("uuid"), fmt.Errorf("uuid %q is not a valid UUID (like 5d0e4a9c-2f3b-4c1d-9a8e-7b6f5e4d3c2b)", id))
		default:
			l.task.ID = u.String()
		}
	}
	if v, ok := str("version", true); ok {
		if _, err := registry.ParseVersion(v); err != nil {
			l.fail(metadataFile, registry.KindInvalid, data, at("version"), err)
		} else {
			l.task.Version = v
		}
	}
	// Upstream's later tools write "name" where older ones write "label".
	labelKey := "label"
	if _, ok := fields["label"]; !ok {
		if _, ok := fields["name"]; ok {
			labelKey = "name"
		}
	}
	if label, ok := str(labelKey, true); ok {
		if strings.TrimSpace(label) == "" {
			l.fail(metadataFile, registry.KindInvalid, data, at(labelKey), fmt.Errorf("field %q must not be empty", labelKey))
		}
		l.task.Label = label
	}
	if d, ok := str("description", false); ok {
		l.task.Description = d
	}
	if raw, present := fields["tags"]; present {
		var tags []string
		if err := json.Unmarshal(raw, &tags); err != nil {
			l.fail(metadataFile, registry.KindInvalid, data, at("tags"), fmt.Errorf(`field "tags" must be an array of strings, found %s`, raw))
		} else {
			l.task.Tags = tags
		}
	}
	l.misspeltKeys(data, fields)
}

// misspeltKeys warns of an unknown key near a known one ("descripton",
// "desc", "tag"), which would otherwise be kept and ignored in silence.
// Other unknown keys are an author's own, kept without a word.
func (l *taskLoad) misspeltKeys(data []byte, fields map[string]json.RawMessage) {
	if len(fields) <= len(metadataKeys) && allKnown(fields) {
		return // the usual file: no scan for positions
	}
	hints := map[string]string{} // a key repeated is looked up once
	for _, k := range objectKeys(data) {
		if slices.Contains(metadataKeys, k.name) {
			continue
		}
		hint, ok := hints[k.name]
		if !ok {
			hint = didYouMean(k.name, metadataKeys)
			hints[k.name] = hint
		}
		if hint != "" {
			l.advise(metadataFile, registry.KindInvalid, data, k.off, fmt.Errorf("unknown key %q is ignored%s", k.name, hint))
		}
	}
}

func allKnown(fields map[string]json.RawMessage) bool {
	for k := range fields {
		if !slices.Contains(metadataKeys, k) {
			return false
		}
	}
	return true
}

// nameSpace is the UUIDv5 namespace of the identities derived from a
// task's name (upstream's later registry format, which has no uuid):
// fixed, so that every restart and every replica derives the same.
var nameSpace = uuid.MustParse("6f8e5a52-3c1b-4d7e-9a0f-2b4c6d8e0a1c")

// NameUUID is the identity of a task that has a name and no uuid: the
// UUIDv5 of the name, exactly as written, in a fixed namespace.
func NameUUID(name string) string {
	return uuid.NewSHA1(nameSpace, []byte(name)).String()
}

// jsonSchema reads and compiles one schema, returning its text.
func (l *taskLoad) jsonSchema(name string) json.RawMessage {
	data, ok := l.read(name, true)
	if !ok {
		return nil
	}
	if !l.decodeJSON(name, data, nil) {
		return nil
	}
	sch, err := l.in.loader.compile(context.Background(), name, data, l.sums[name])
	var be *boundError
	var pe *registry.PanicError
	if errors.As(err, &be) || errors.As(err, &pe) {
		l.bound(name, registry.KindSchema, data, err)
		return nil
	}
	if err != nil {
		off, ok := schemaErrorOffset(data, err)
		if !ok {
			off = -1
		}
		l.fail(name, registry.KindSchema, data, off, fmt.Errorf("not a valid JSON Schema: %s", schemaErrorMessage(err)))
		return nil
	}
	l.schema[name] = sch
	return data
}

func (l *taskLoad) script() {
	data, ok := l.read(scriptFile, true)
	if !ok {
		return
	}
	if len(bytes.TrimSpace(data)) == 0 {
		l.fail(scriptFile, registry.KindSyntax, data, 0, errors.New("file is empty"))
		return
	}
	if err := scriptNesting(data); err != nil {
		l.bound(scriptFile, registry.KindSyntax, data, err)
		return
	}
	prog, err := registry.Guard("parse "+scriptFile, func() (*ast.Program, error) { return parser.ParseFile(nil, scriptFile, data, 0) })
	if err != nil {
		var list parser.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			e := &registry.LoadError{Source: l.in.source, Root: l.in.root, File: scriptFile, Path: l.in.display + l.in.sep + scriptFile,
				Kind: registry.KindSyntax, Line: list[0].Position.Line, Column: list[0].Position.Column,
				Err: fmt.Errorf("JavaScript syntax error: %s", explainScriptError(data, list[0].Position.Line, list[0].Position.Column, list[0].Message))}
			l.errs = append(l.errs, e)
			return
		}
		var pe *registry.PanicError
		if !errors.As(err, &pe) {
			err = fmt.Errorf("JavaScript syntax error: %w", err)
		}
		l.fail(scriptFile, registry.KindSyntax, nil, -1, err)
		return
	}
	if at, ok := scriptValue(prog); !ok {
		p := prog.File.Position(int(at) - 1)
		l.errs = append(l.errs, &registry.LoadError{Source: l.in.source, Root: l.in.root, File: scriptFile, Path: l.in.display + l.in.sep + scriptFile,
			Kind: registry.KindInvalid, Line: p.Line, Column: p.Column,
			Err: errors.New("main.js yields no function: define a function main, or make the script's value a function expression like (function(input) { ... })")})
		return
	}
	l.scriptFile = registry.File{Name: scriptFile, Size: int64(len(data)), SHA256: l.sums[scriptFile]}
}

// checkAgainst validates one part of a test case against the task's schema,
// so that a test that could never pass is reported at load.
func (l *taskLoad) checkAgainst(name string, data []byte, field string, raw json.RawMessage, sch *jsonschema.Schema) {
	if sch == nil {
		return
	}
	reach, ok := l.reach[sch]
	if !ok {
		if l.reach == nil {
			l.reach = map[*jsonschema.Schema]schemaReach{}
		}
		reach = reachOf(sch)
		l.reach[sch] = reach
	}
	verr := validateJSON(sch, reach, raw, checkLimit(len(raw)))
	if verr == nil {
		return
	}
	var ce *checkCostError
	if errors.As(verr, &ce) {
		off, _ := pointerOffset(data, []string{field})
		l.advise(name, registry.KindTest, data, off, fmt.Errorf("%s is not checked against %s at load, the case's worker checks it when it runs: %w", field, schemaFor(field), verr))
		return
	}
	ptr := []string{field}
	var ve *jsonschema.ValidationError
	if errors.As(verr, &ve) {
		leaf := deepest(ve)
		ptr = append(ptr, leaf.InstanceLocation...)
	}
	off, _ := pointerOffset(data, ptr)
	var pe *registry.PanicError
	if errors.As(verr, &pe) {
		l.fail(name, registry.KindTest, data, off, fmt.Errorf("%s could not be checked against %s: %w", field, schemaFor(field), verr))
		return
	}
	l.fail(name, registry.KindTest, data, off, fmt.Errorf("%s does not match %s: %s", field, schemaFor(field), schemaErrorMessage(verr)))
}

func schemaFor(field string) string {
	if field == "input" {
		return inputSchema
	}
	return outputSchema
}

// readFile reads a regular file with a size cap. Anything else (a FIFO, a
// device, a folder) is refused before it can block or exhaust memory.
func readFile(fsys fs.FS, name string, max int64) ([]byte, error) {
	if max <= 0 {
		max = MaxFileSize
	}
	if d, ok := fsys.(dirFS); ok {
		return d.readFile(name, max)
	}
	// Another file system decodes as it reads (an archive's entries, a git
	// repository's objects), at load and again for lazy content.
	return registry.Guard("read "+name, func() ([]byte, error) { return readFS(fsys, name, max) })
}

// readFile's work on a file system other than a folder on disk.
func readFS(fsys fs.FS, name string, max int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadOpened(f, name, max)
}

// ReadOpened reads f, opened as name, to its end: only a regular file (a
// FIFO or a device, opened without blocking, must not hold a reader up
// nor feed it without end), of at most max bytes, counted before they are
// read and again as they are, for a file that grows meanwhile.
func ReadOpened(f fs.File, name string, max int64) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is %s, not a regular file", name, describeMode(st.Mode()))
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s is %d bytes, over the %d-byte limit for one file", name, st.Size(), max)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s grew over the %d-byte limit for one file", name, max)
	}
	return data, nil
}

func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	default:
		return "a special file"
	}
}

// testDigest is digestFiles over the files a verdict depends on.
func testDigest(sums map[string][32]byte) string {
	deps := make(map[string][32]byte, len(sums))
	for n, s := range sums {
		if n == scriptFile || n == inputSchema || n == outputSchema || strings.HasPrefix(n, testsDir+"/") {
			deps[n] = s
		}
	}
	return digestFiles(deps)
}

// digestFiles hashes names and contents so that a rename changes the
// digest as well as an edit does.
func digestFiles(sums map[string][32]byte) string {
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		s := sums[n]
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write(s[:])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
