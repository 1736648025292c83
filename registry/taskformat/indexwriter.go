package taskformat

import (
	"encoding/json"
	"fmt"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// An IndexWriter writes a snapshot's index.json: the bytes of
// json.MarshalIndent of its Index with two spaces, written piece by piece
// (the head, each entry indented twice, the tail). It is the one writer of
// the format: `index` writes a file with it once, and a server keeps one
// to publish the index after each save.
//
// It remembers each listed task version by task digest: its bundle (sha256
// and size) and where its entry sits in the last index. Bundles are
// deterministic, so a task whose digest was listed before costs nothing:
// after one saved file the next index builds that task's bundle and
// renders that entry alone, and copies the others' bytes. A task that
// turns stale, which cannot be bundled from its (changed) files any more
// but is still served, stays listed: a registry pulling from this one has
// that bundle. Not safe for concurrent use.
type IndexWriter struct {
	body  []byte
	known map[string]listed
}

// listed is one entry of the last index: its bundle, and its bytes in the
// body (at, n; n is 0 while it has none).
type listed struct {
	bundle Bundle
	at, n  int
}

const (
	indexEntryIndent = "    "
	indexEntrySep    = ",\n" + indexEntryIndent
)

// Write returns the index of s; bundle gives each task version's zip not
// listed before. A task whose bundle fails is left out and named in the
// errors. The bytes are never changed after: a Write makes new ones.
func (w *IndexWriter) Write(s *registry.Snapshot, bundle func(*registry.Task) (Bundle, error)) ([]byte, []error) {
	known := make(map[string]listed, len(w.known))
	api, _ := json.Marshal(IndexAPIVersion)
	body := make([]byte, 0, len(w.body)+1024)
	body = append(body, "{\n  \"apiVersion\": "...)
	body = append(body, api...)
	body = append(body, ",\n  \"tasks\": ["...)
	var errs []error
	entries := 0
	for _, e := range s.Entries() {
		for _, t := range e.Versions {
			l, ok := w.known[t.Digest]
			if !ok {
				b, err := bundle(t)
				if err != nil {
					errs = append(errs, fmt.Errorf("task %s %s: %w", t.ID, t.Version, err))
					continue
				}
				l = listed{bundle: Bundle{SHA256: b.SHA256, Size: b.Size}}
			}
			if entries == 0 {
				body = append(body, "\n"+indexEntryIndent...)
			} else {
				body = append(body, indexEntrySep...)
			}
			entries++
			at := len(body)
			if l.n > 0 {
				body = append(body, w.body[l.at:l.at+l.n]...)
			} else {
				entry, _ := json.MarshalIndent(IndexEntry{ID: t.ID, Version: t.Version, Label: t.Label, Description: t.Description,
					Bundle: BundlePath(t.ID, t.Version), SHA256: l.bundle.SHA256, Size: l.bundle.Size}, indexEntryIndent, "  ")
				body = append(body, entry...)
			}
			l.at, l.n = at, len(body)-at
			known[t.Digest] = l
		}
	}
	if entries > 0 {
		body = append(body, "\n  "...)
	}
	body = append(body, "]\n}"...)
	w.body, w.known = body, known
	return body, errs
}
