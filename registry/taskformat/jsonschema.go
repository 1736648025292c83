package taskformat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// english renders the validator's messages; a Printer is safe to share.
var english = message.NewPrinter(language.English)

// noRemote refuses every $ref that leaves the schema: a task must be
// self-contained, and loading must never touch the network or other files.
type noRemote struct{}

func (noRemote) Load(url string) (any, error) {
	return nil, fmt.Errorf("$ref to %s: a task's schemas must be self-contained", url)
}

// Bounds on one schema, on top of MaxNesting. The compiler looks each
// subschema up in a list of those it has queued and builds its JSON
// pointer by copying its parent's, so its work grows with the square of
// the subschemas and with the length of their pointers: 20,000 sibling
// properties took 4 s, and long keys at depth make each step dearer.
// Real task schemas hold tens of subschemas.
const (
	MaxSchemaObjects     = 2000
	MaxSchemaPointer     = 1024 // bytes of the JSON pointer to any subschema
	schemaCompileTimeout = 2 * time.Second
)

// Loader reads tasks from their files: LoadDir, LoadFS, LoadZip and
// LoadZipFile. It holds what every load shares, so that main makes one and
// hands it to every source and command that loads. It is safe for
// concurrent use.
type Loader struct {
	// compiled holds schemas compiled lately, by file name and digest of
	// the text. A catalogue's tasks share a handful of schemas ({"type":
	// "object"} above all), and compiling one costs a fifth of a task's
	// load: a collection of 100,000 tasks compiles each of its schemas
	// once. A compiled schema is never changed after compilation, so tasks
	// and goroutines share it. Only successes are kept: a broken schema is
	// compiled again, for its error.
	compiled *lru.Cache[schemaKey, *jsonschema.Schema]
}

// SchemaCacheSize is how many compiled schemas a Loader keeps.
const SchemaCacheSize = 1024

// NewLoader makes a Loader with an empty cache of compiled schemas.
func NewLoader() *Loader {
	c, err := lru.New[schemaKey, *jsonschema.Schema](SchemaCacheSize)
	if err != nil {
		panic(err) // only for a size under 1
	}
	return &Loader{compiled: c}
}

type schemaKey struct {
	name string
	sum  [32]byte
}

// compile is compileSchema through the cache, for a file whose digest the
// loader has taken already.
func (ld *Loader) compile(ctx context.Context, name string, data []byte, sum [32]byte) (*jsonschema.Schema, error) {
	k := schemaKey{name, sum}
	if sch, ok := ld.compiled.Get(k); ok {
		return sch, nil
	}
	sch, err := compileSchema(ctx, name, data)
	if err == nil {
		ld.compiled.Add(k, sch)
	}
	return sch, err
}

// compileSchema compiles one schema document with the draft it declares
// (draft 7 when it declares none, as upstream Ratchet does). It stops when
// ctx ends or after schemaCompileTimeout, so that no file can hold a
// source unready or delay a shutdown.
func compileSchema(ctx context.Context, name string, data []byte) (*jsonschema.Schema, error) {
	if err := jsonNesting(data, MaxNesting); err != nil {
		return nil, err
	}
	if err := jsonNumbers(data); err != nil {
		return nil, err
	}
	return registry.Guard("compile "+name, func() (*jsonschema.Schema, error) { return compileDoc(ctx, name, data) })
}

// compileDoc is compileSchema once the text is known to be within bounds.
func compileDoc(ctx context.Context, name string, data []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if err := schemaSize(doc); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, schemaCompileTimeout)
	defer cancel()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.UseLoader(noRemote{})
	// A vocabulary with no keywords is the compiler's only hook that runs
	// once a subschema: it is where compilation can stop.
	c.RegisterVocabulary(&jsonschema.Vocabulary{URL: "urn:ratchet-registry:deadline",
		Compile: func(*jsonschema.CompilerContext, map[string]any) (jsonschema.SchemaExt, error) {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("compiling the schema stopped: %w", context.Cause(ctx))
			}
			return nil, nil
		}})
	c.AssertVocabs()
	url := "task:///" + name
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

// schemaSize refuses a schema whose compilation would cost more than a
// real one could need. It counts objects outside the keywords whose
// values are data rather than schemas.
func schemaSize(doc any) error {
	objects := 0
	var walk func(v any, ptrLen int) error
	walk = func(v any, ptrLen int) error {
		if ptrLen > MaxSchemaPointer {
			return fmt.Errorf("a subschema's JSON pointer is over %d bytes long", MaxSchemaPointer)
		}
		switch v := v.(type) {
		case map[string]any:
			objects++
			if objects > MaxSchemaObjects {
				return fmt.Errorf("schema has over %d objects", MaxSchemaObjects)
			}
			for k, child := range v {
				switch k {
				case "enum", "const", "default", "examples":
					continue
				}
				if err := walk(child, ptrLen+1+len(k)); err != nil {
					return err
				}
			}
		case []any:
			for i, child := range v {
				if err := walk(child, ptrLen+1+len(strconv.Itoa(i))); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(doc, 0)
}

// deepest follows the first cause down to the most specific error, which
// is the one an author needs to see.
func deepest(ve *jsonschema.ValidationError) *jsonschema.ValidationError {
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	return ve
}

// schemaErrorOffset finds the spot in the schema file that the metaschema
// rejected.
func schemaErrorOffset(data []byte, err error) (int, bool) {
	err = metaschemaCause(err)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		return pointerOffset(data, deepest(ve).InstanceLocation)
	}
	return 0, false
}

// schemaErrorMessage keeps the library's wording for the most specific
// cause, without the internal URLs.
func schemaErrorMessage(err error) string {
	err = metaschemaCause(err)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		leaf := deepest(ve)
		msg := leaf.ErrorKind.LocalizedString(english)
		if len(leaf.InstanceLocation) > 0 {
			return fmt.Sprintf("at /%s: %s", strings.Join(leaf.InstanceLocation, "/"), msg)
		}
		return msg
	}
	return strings.ReplaceAll(err.Error(), "task:///", "")
}

// metaschemaCause digs out the validation error that the compiler wraps
// without an Unwrap method.
func metaschemaCause(err error) error {
	var se *jsonschema.SchemaValidationError
	if errors.As(err, &se) && se.Err != nil {
		return se.Err
	}
	return err
}

// CompileSchema compiles a task's schema with the rules the loader uses:
// the draft it declares, no reference leaving the document. The test
// runner compiles with it in its worker processes.
func CompileSchema(name string, data []byte) (*jsonschema.Schema, error) {
	return compileSchema(context.Background(), name, data)
}

// ValidateJSON checks JSON text against a compiled schema, as the loader
// checks test cases and the runner checks inputs and outputs: a number
// the validator cannot take is refused before it sees it, and a panic
// inside it is an error. The error is the validator's, a *boundError or
// a *PanicError; SchemaErrorMessage words any of them.
func ValidateJSON(sch *jsonschema.Schema, raw json.RawMessage) error {
	return validateJSON(sch, reachOf(sch), raw, 0)
}

// validateJSON is ValidateJSON with what the schema reads found already,
// refusing with a *checkCostError text whose check would take over limit
// bytes (0: no limit).
func validateJSON(sch *jsonschema.Schema, reach schemaReach, raw json.RawMessage, limit int64) error {
	if err := jsonNumbers(raw); err != nil {
		return err
	}
	_, err := registry.Guard("validate against the schema", func() (struct{}, error) {
		if !json.Valid(raw) {
			// Only for its error, worded as the validator's own decoder
			// words it (encoding/json's, which also bounds the nesting).
			_, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
			return struct{}{}, err
		}
		sh := measureJSON(raw, reach, limit)
		if limit > 0 && sh.cost > limit {
			return struct{}{}, &checkCostError{cost: sh.cost, limit: limit}
		}
		return struct{}{}, sch.Validate(decodeJSON(raw, sh))
	})
	return err
}

// Bounds on checking a test case against the task's schemas at load. The
// validator needs the values its schema reads as Go values, which can take
// tens of times their text (an object of one key is a map of some 300
// bytes), and spends some hundreds of bytes on each value and subschema it
// applies: such a case is not checked at load, and its worker checks it
// when it runs.
const (
	CheckFactor = 16      // times the bytes of the value checked
	checkFloor  = 1 << 20 // bytes any value may take, however short its text
)

// checkLimit is what checking a value of n bytes at load may take.
func checkLimit(n int) int64 { return max(CheckFactor*int64(n), checkFloor) }

// checkCostError is a value whose check would take more than its limit.
type checkCostError struct {
	cost, limit int64
}

func (e *checkCostError) Error() string {
	return fmt.Sprintf("checking it would take about %d bytes (the values the schema reads and the validator's work on them), over the %d-byte limit for checking a test case at load (%d times its size, at least %d bytes)",
		e.cost, e.limit, CheckFactor, checkFloor)
}

// SchemaErrorMessage is a validation error as one line for an author.
func SchemaErrorMessage(err error) string { return schemaErrorMessage(err) }
