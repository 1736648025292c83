package taskschema

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// compile compiles a schema with a real validator, as an editor would.
func compile(tb testing.TB, name string) *jsonschema.Schema {
	tb.Helper()
	data, err := File(name)
	if err != nil {
		tb.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(name, doc); err != nil {
		tb.Fatal(err)
	}
	s, err := c.Compile(name)
	if err != nil {
		tb.Fatalf("%s does not compile: %v", name, err)
	}
	return s
}

// inputs lists the files a schema applies to: metadata.json and
// tests/*.json under the examples, and testdata/DIR/KIND-*.json.
func inputs(tb testing.TB, kind, dir string) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, kind+"-*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	if dir == "ok" {
		err := filepath.WalkDir("../../../examples", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if kind == "metadata" && d.Name() == "metadata.json" || kind == "test" && filepath.Base(filepath.Dir(p)) == "tests" && strings.HasSuffix(p, ".json") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	if len(files) < 3 {
		tb.Fatalf("found only %v for %s in %s", files, kind, dir)
	}
	return files
}

// TestSchemas: every example validates; every typo an author makes is
// flagged (lable, expectedOutput, expected_ouput, a leading v, ...).
func TestSchemas(t *testing.T) {
	for _, kind := range []string{"metadata", "test"} {
		s := compile(t, kind+".json")
		for _, dir := range []string{"ok", "bad"} {
			for _, f := range inputs(t, kind, dir) {
				t.Run(kind+"/"+dir+"/"+filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
					data, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
					if err != nil {
						t.Fatal(err)
					}
					err = s.Validate(v)
					if dir == "ok" && err != nil {
						t.Errorf("%s: got %v, want valid", f, err)
					}
					if dir == "bad" && err == nil {
						t.Errorf("%s: valid, want it flagged", f)
					}
				})
			}
		}
	}
}

func TestFileUnknown(t *testing.T) {
	if _, err := File("nope.json"); err == nil || !strings.Contains(err.Error(), `"nope.json"`) {
		t.Errorf("got %v, want an error naming the file", err)
	}
}
