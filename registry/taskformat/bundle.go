package taskformat

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// Bundle is a task packed as a zip for HTTP distribution.
type Bundle struct {
	Data   []byte
	SHA256 string // hex
	Size   int64
}

// bundleTime is the fixed modification time of every entry, so that the
// same files always give the same bytes (zip's epoch: 1980-01-01).
var bundleTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Bundle packs a task's files into a deterministic zip: entries sorted, at
// the archive's root, with fixed times and no extra fields. The lazily
// read files are checked against their digests like any other read.
func (c *Content) Bundle(t *registry.Task) (Bundle, error) {
	key := sha256.Sum256([]byte("bundle\x00" + t.Digest))
	if data, ok := c.get(key); ok {
		return bundleOf(data), nil
	}
	files := map[string][]byte{
		metadataFile: t.Metadata,
		inputSchema:  t.InputSchema,
		outputSchema: t.OutputSchema,
	}
	for _, f := range t.Files() {
		data, err := c.Read(t, f.Name)
		if err != nil {
			return Bundle{}, err
		}
		files[f.Name] = data
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		h := &zip.FileHeader{Name: n, Method: zip.Deflate, Modified: bundleTime}
		h.SetMode(0o644)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return Bundle{}, fmt.Errorf("bundle %s: %w", t.Path, err)
		}
		if _, err := w.Write(files[n]); err != nil {
			return Bundle{}, fmt.Errorf("bundle %s: %w", t.Path, err)
		}
	}
	if err := zw.Close(); err != nil {
		return Bundle{}, fmt.Errorf("bundle %s: %w", t.Path, err)
	}
	c.put(key, buf.Bytes())
	return bundleOf(buf.Bytes()), nil
}

func bundleOf(data []byte) Bundle {
	sum := sha256.Sum256(data)
	return Bundle{Data: data, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
}
