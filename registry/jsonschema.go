package registry

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

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

// compileSchema compiles one schema document with the draft it declares
// (2020-12 when it declares none).
func compileSchema(name string, data []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noRemote{})
	url := "task:///" + name
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
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
	return compileSchema(name, data)
}

// SchemaErrorMessage is a validation error as one line for an author.
func SchemaErrorMessage(err error) string { return schemaErrorMessage(err) }
