package taskformat

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// IndexAPIVersion names the index format; a reader refuses others.
const IndexAPIVersion = "ratchet-registry/v1"

// Index lists every task version a registry serves, with where to fetch
// each as a bundle. It is a static file: any HTTP server can host it.
type Index struct {
	APIVersion string       `json:"apiVersion"`
	Tasks      []IndexEntry `json:"tasks"`
}

// IndexEntry is one task version.
type IndexEntry struct {
	ID          string `json:"id"`
	Version     string `json:"version"`
	Label       string `json:"label"`
	Description string `json:"description"`
	Bundle      string `json:"bundle"` // URL of the zip, relative to the index or absolute
	SHA256      string `json:"sha256"` // hex digest of the zip
	Size        int64  `json:"size"`   // bytes of the zip
}

// BundlePath is where a bundle sits relative to the index.
func BundlePath(id, version string) string {
	return "tasks/" + url.PathEscape(id) + "/" + url.PathEscape(version) + ".zip"
}

// BuildIndex lists a snapshot's tasks; bundle gives each one's zip (its
// digest and size are all the index needs).
func BuildIndex(s *registry.Snapshot, bundle func(*registry.Task) (Bundle, error)) (Index, []error) {
	idx := Index{APIVersion: IndexAPIVersion, Tasks: []IndexEntry{}}
	var errs []error
	for _, e := range s.Entries() {
		for _, t := range e.Versions {
			b, err := bundle(t)
			if err != nil {
				errs = append(errs, fmt.Errorf("task %s %s: %w", t.ID, t.Version, err))
				continue
			}
			idx.Tasks = append(idx.Tasks, IndexEntry{ID: t.ID, Version: t.Version, Label: t.Label, Description: t.Description,
				Bundle: BundlePath(t.ID, t.Version), SHA256: b.SHA256, Size: b.Size})
		}
	}
	return idx, errs
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ParseIndex reads and checks an index document.
func ParseIndex(data []byte) (*Index, error) {
	var idx Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("index is not valid JSON: %w", err)
	}
	if idx.APIVersion != IndexAPIVersion {
		return nil, fmt.Errorf("index apiVersion is %q, want %q", idx.APIVersion, IndexAPIVersion)
	}
	var errs []error
	seen := map[string]bool{}
	for i, e := range idx.Tasks {
		at := fmt.Sprintf("index tasks[%d]", i)
		switch {
		case e.ID == "" || e.Version == "" || e.Bundle == "":
			errs = append(errs, fmt.Errorf("%s: id, version and bundle are required", at))
		case !hexSHA256.MatchString(e.SHA256):
			errs = append(errs, fmt.Errorf("%s: sha256 %q is not 64 lowercase hex digits", at, e.SHA256))
		case e.Size <= 0 || e.Size > MaxArchiveSize:
			errs = append(errs, fmt.Errorf("%s: size %d is out of range", at, e.Size))
		case seen[e.ID+"@"+e.Version]:
			errs = append(errs, fmt.Errorf("%s: %s %s is listed twice", at, e.ID, e.Version))
		}
		seen[e.ID+"@"+e.Version] = true
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	idx.Tasks = slices.Clip(idx.Tasks)
	return &idx, nil
}
