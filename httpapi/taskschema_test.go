package httpapi

import (
	"io"
	"net/http"
	"testing"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat/taskschema"
)

func TestTaskSchemas(t *testing.T) {
	ts := newTestServer(t, t.TempDir())
	tests := []struct {
		path       string
		wantStatus int
		wantBody   string // a schema by name; empty: not checked
	}{
		{"/schemas/metadata.json", 200, "metadata.json"},
		{"/schemas/test.json", 200, "test.json"},
		{"/schemas/nope.json", 404, ""},
		{"/schemas/..%2fserver.go", 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := http.Get(ts.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("got %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantBody == "" {
				return
			}
			want, err := taskschema.File(tc.wantBody)
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != string(want) || resp.Header.Get("Content-Type") != "application/schema+json" {
				t.Errorf("got %s %q, want the embedded schema as application/schema+json", resp.Header.Get("Content-Type"), body)
			}
		})
	}
}
