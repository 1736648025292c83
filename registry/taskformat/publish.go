package taskformat

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// BundleAll packs every task version of a snapshot as the deterministic
// zip that index and push publish, listed in an index; bundles are by
// their path in it.
func BundleAll(snap *registry.Snapshot) (Index, map[string]Bundle, error) {
	content := NewContent(0) // nothing to keep: each bundle is used once
	bundles := map[string]Bundle{}
	idx, errs := BuildIndex(snap, func(t *registry.Task) (Bundle, error) {
		b, err := content.Bundle(t)
		if err == nil {
			bundles[BundlePath(t.ID, t.Version)] = b
		}
		return b, err
	})
	return idx, bundles, errors.Join(errs...)
}

// WriteIndex writes index.json and a bundle of every task version of snap
// into the folder out, ready for any static host, and returns how many
// bundles it wrote.
func WriteIndex(snap *registry.Snapshot, out string) (int, error) {
	content := NewContent(0) // nothing to keep: each bundle is used once
	bundles := map[string]Bundle{}
	var w IndexWriter
	data, errs := w.Write(snap, func(t *registry.Task) (Bundle, error) {
		b, err := content.Bundle(t)
		if err == nil {
			bundles[BundlePath(t.ID, t.Version)] = b
		}
		return b, err
	})
	if len(errs) > 0 {
		return 0, errors.Join(errs...)
	}
	for p, b := range bundles {
		dst := filepath.Join(out, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return 0, err
		}
		if err := os.WriteFile(dst, b.Data, 0o644); err != nil {
			return 0, err
		}
	}
	return len(bundles), os.WriteFile(filepath.Join(out, "index.json"), append(data, '\n'), 0o644)
}
