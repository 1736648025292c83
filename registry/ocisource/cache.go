package ocisource

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
)

// cache keeps blobs by digest and, for each followed reference, the
// manifest last served, so that a restart with the registry down serves the
// last good artifact. A file under blobs/ is written only once its size and
// digest have been checked, and is checked again when read.
type cache struct {
	dir string
}

func newCache(dir string) (*cache, error) {
	c := &cache{dir: dir}
	for _, d := range []string{c.blobDir(), filepath.Join(dir, "refs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("cache: %w", err)
		}
	}
	return c, nil
}

func (c *cache) blobDir() string { return filepath.Join(c.dir, "blobs", "sha256") }

// blobPath is where a blob of this digest is kept; only sha256 is kept.
func (c *cache) blobPath(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil || d.Algorithm() != digest.SHA256 {
		return "", fmt.Errorf("digest %q is not a valid sha256 digest", d)
	}
	return filepath.Join(c.blobDir(), d.Encoded()), nil
}

// has says whether a blob of this descriptor is in the cache and intact.
func (c *cache) has(desc ocispec.Descriptor) (string, bool) {
	p, err := c.blobPath(desc.Digest)
	if err != nil {
		return "", false
	}
	f, err := os.Open(p)
	if err != nil {
		return "", false
	}
	defer f.Close()
	vr := content.NewVerifyReader(f, desc)
	if _, err := io.Copy(io.Discard, vr); err != nil {
		return "", false
	}
	return p, vr.Verify() == nil
}

// put writes a blob read from r, at most desc.Size bytes, and keeps it only
// when its size and digest are those of desc.
func (c *cache) put(desc ocispec.Descriptor, r io.Reader) (string, error) {
	dst, err := c.blobPath(desc.Digest)
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(c.blobDir(), ".download-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	vr := content.NewVerifyReader(r, desc)
	_, err = io.Copy(tmp, vr)
	if err == nil {
		err = vr.Verify()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", describeVerify(desc, err)
	}
	return dst, os.Rename(tmp.Name(), dst)
}

// describeVerify turns oras' terse verification errors into what went wrong.
func describeVerify(desc ocispec.Descriptor, err error) error {
	switch {
	case errors.Is(err, content.ErrMismatchedDigest):
		return fmt.Errorf("content does not match its digest %s", desc.Digest)
	case errors.Is(err, content.ErrTrailingData):
		return fmt.Errorf("content is longer than the %d bytes its descriptor says", desc.Size)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("content is shorter than the %d bytes its descriptor says", desc.Size)
	}
	return err
}

// saved is the manifest last served for a reference.
type saved struct {
	Ref      string             `json:"ref"`
	Manifest ocispec.Descriptor `json:"manifest"`
}

func (c *cache) refPath(ref string) string {
	sum := sha256.Sum256([]byte(ref))
	return filepath.Join(c.dir, "refs", hex.EncodeToString(sum[:8])+".json")
}

// save records the manifest that a reference served, once its layers are
// all in the cache.
func (c *cache) save(ref string, manifest ocispec.Descriptor) error {
	data, err := json.Marshal(saved{Ref: ref, Manifest: manifest})
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Join(c.dir, "refs"), ".ref-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), c.refPath(ref))
}

// last is the manifest saved for a reference, and when it was saved.
func (c *cache) last(ref string) (ocispec.Descriptor, time.Time, error) {
	p := c.refPath(ref)
	data, err := os.ReadFile(p)
	if err != nil {
		return ocispec.Descriptor{}, time.Time{}, err
	}
	var s saved
	if err := json.Unmarshal(data, &s); err != nil || s.Ref != ref {
		return ocispec.Descriptor{}, time.Time{}, fmt.Errorf("%s is not a saved manifest of %s", p, ref)
	}
	st, err := os.Stat(p)
	if err != nil {
		return ocispec.Descriptor{}, time.Time{}, err
	}
	return s.Manifest, st.ModTime(), nil
}
