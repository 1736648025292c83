package httpapi

import (
	"bytes"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat/taskschema"
)

// serveTaskSchema serves the JSON Schemas of metadata.json and test files
// at /schemas/{name}, for editors that map task files to a URL.
func serveTaskSchema(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	data, err := taskschema.File(name)
	if err != nil {
		http.Error(w, "no such schema: there are /schemas/metadata.json and /schemas/test.json", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/schema+json")
	w.Header().Set("Cache-Control", "no-cache") // revalidated by content, so a new binary's schema is seen at once
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}
