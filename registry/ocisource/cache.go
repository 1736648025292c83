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

// cache keeps the blobs of one source by digest and the manifest it last
// served, so that a restart with the registry down serves the last good
// artifact. A file under blobs/ is written only once its size and digest
// have been checked, and is checked again when read. Each source has a
// folder of its own, so that pruning one never takes another's blobs.
type cache struct {
	dir string
	ref string
}

func newCache(root, ref string) (*cache, error) {
	sum := sha256.Sum256([]byte(ref))
	c := &cache{dir: filepath.Join(root, hex.EncodeToString(sum[:8])), ref: ref}
	if err := os.MkdirAll(c.blobDir(), 0o755); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
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
// when its size and digest are those of desc and check (when set) accepts
// it: what fails a check is never kept, so a registry cannot fill the
// cache with blobs that serve nothing. A check's error is a *refusedError.
func (c *cache) put(desc ocispec.Descriptor, r io.Reader, check func(f *os.File, size int64) error) (string, error) {
	dst, err := c.blobPath(desc.Digest)
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(c.blobDir(), ".download-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	vr := content.NewVerifyReader(r, desc)
	_, err = io.Copy(tmp, vr)
	if err == nil {
		err = vr.Verify()
	}
	if err != nil {
		return "", describeVerify(desc, err)
	}
	if check != nil {
		if err := check(tmp, desc.Size); err != nil {
			return "", &refusedError{err}
		}
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return dst, os.Rename(tmp.Name(), dst)
}

// refusedError is a blob whose content fails its check: it is what the
// registry holds, and fetching it again would not change it.
type refusedError struct{ err error }

func (e *refusedError) Error() string { return e.err.Error() }
func (e *refusedError) Unwrap() error { return e.err }

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

// saved is the manifest last served.
type saved struct {
	Ref      string             `json:"ref"`
	Manifest ocispec.Descriptor `json:"manifest"`
}

func (c *cache) savedPath() string { return filepath.Join(c.dir, "manifest.json") }

// save records the manifest that the reference served, once its layers
// are all in the cache.
func (c *cache) save(manifest ocispec.Descriptor) error {
	data, err := json.Marshal(saved{Ref: c.ref, Manifest: manifest})
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.dir, ".manifest-*")
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
	return os.Rename(tmp.Name(), c.savedPath())
}

// last is the manifest saved for the reference, and when it was saved.
func (c *cache) last() (ocispec.Descriptor, time.Time, error) {
	p := c.savedPath()
	data, err := os.ReadFile(p)
	if err != nil {
		return ocispec.Descriptor{}, time.Time{}, err
	}
	var s saved
	if err := json.Unmarshal(data, &s); err != nil || s.Ref != c.ref {
		return ocispec.Descriptor{}, time.Time{}, fmt.Errorf("%s is not a saved manifest of %s", p, c.ref)
	}
	st, err := os.Stat(p)
	if err != nil {
		return ocispec.Descriptor{}, time.Time{}, err
	}
	return s.Manifest, st.ModTime(), nil
}

// prune removes the blobs not in keep, so that the cache holds what the
// source serves and little more, however often the tag moves.
func (c *cache) prune(keep map[digest.Digest]bool) error {
	entries, err := os.ReadDir(c.blobDir())
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if d := digest.NewDigestFromEncoded(digest.SHA256, e.Name()); !keep[d] {
			if err := os.Remove(filepath.Join(c.blobDir(), e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
