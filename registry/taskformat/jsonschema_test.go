package taskformat

import (
	"crypto/sha256"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestSchemaCompiledOnce checks that identical schemas share one compiled
// schema, that a different text or file name gets its own, that the cache
// belongs to its Loader, and that a broken schema is never kept.
func TestSchemaCompiledOnce(t *testing.T) {
	ld := NewLoader()
	compile := func(name, text string) (*jsonschema.Schema, error) {
		data := []byte(text)
		return ld.compile(t.Context(), name, data, sha256.Sum256(data))
	}
	a, err := compile("input.schema.json", `{"type": "object", "x-test": "once"}`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, text string
		same       bool
	}{
		{"input.schema.json", `{"type": "object", "x-test": "once"}`, true},
		{"input.schema.json", `{"type": "object", "x-test": "twice"}`, false},
		{"output.schema.json", `{"type": "object", "x-test": "once"}`, false},
	}
	for _, tc := range tests {
		b, err := compile(tc.name, tc.text)
		if err != nil {
			t.Fatal(err)
		}
		if (a == b) != tc.same {
			t.Errorf("%s %s: shared %v, want %v", tc.name, tc.text, a == b, tc.same)
		}
	}
	// The cache is the Loader's own: another one compiles again.
	if b, err := NewLoader().compile(t.Context(), "input.schema.json", []byte(`{"type": "object", "x-test": "once"}`),
		sha256.Sum256([]byte(`{"type": "object", "x-test": "once"}`))); err != nil || b == a {
		t.Errorf("another Loader: got %p (%v), want a schema of its own, not %p", b, err, a)
	}
	bad := `{"type": 12, "x-test": "broken"}`
	for range 2 {
		if _, err := compile("input.schema.json", bad); err == nil {
			t.Fatal("a broken schema compiled")
		}
	}
	if _, ok := ld.compiled.Get(schemaKey{"input.schema.json", sha256.Sum256([]byte(bad))}); ok {
		t.Error("a broken schema was kept")
	}
}
