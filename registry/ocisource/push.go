package ocisource

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/memory"
	orasregistry "oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// Layer is one task version to publish: its bundle, the deterministic zip
// that `index` writes.
type Layer struct {
	ID, Version string
	Zip         []byte
}

// Pushed is what a push did.
type Pushed struct {
	Manifest ocispec.Descriptor
	Uploaded int // task layers the registry lacked
	Present  int // task layers it had already
}

// created is the manifest's creation time: fixed, so that the same tasks
// always make the same manifest and a push of an unchanged tree does not
// move the tag's digest, which would make every follower reload.
const created = "1980-01-01T00:00:00Z"

// Push publishes layers as one catalogue artifact and tags it as ref
// (REGISTRY/REPOSITORY:TAG; CheckTag says whether it is one). Each layer is uploaded only when the registry
// lacks its digest: the packing and the copy are oras-go's, as in `oras
// push`, so that `oras pull` gives the zips back under their titles.
func Push(ctx context.Context, ref string, r Remote, layers []Layer) (Pushed, error) {
	repo, hc, err := r.repository(ref)
	if err != nil {
		return Pushed{}, err
	}
	defer hc.CloseIdleConnections()
	tag := repo.Reference.Reference
	if _, err := repo.Reference.Digest(); err == nil || tag == "" {
		return Pushed{}, fmt.Errorf("%s: name a tag to push to (REGISTRY/REPOSITORY:TAG)", ref)
	}
	store := memory.New()
	descs := make([]ocispec.Descriptor, 0, len(layers))
	for _, l := range layers {
		d := content.NewDescriptorFromBytes(MediaTypeTask, l.Zip)
		d.Annotations = map[string]string{
			ocispec.AnnotationTitle: l.ID + "-" + l.Version + ".zip",
			AnnotationUUID:          l.ID,
			AnnotationVersion:       l.Version,
		}
		if err := store.Push(ctx, d, bytes.NewReader(l.Zip)); err != nil {
			return Pushed{}, fmt.Errorf("pack %s %s: %w", l.ID, l.Version, err)
		}
		descs = append(descs, d)
	}
	slices.SortFunc(descs, func(a, b ocispec.Descriptor) int {
		return cmp.Compare(a.Annotations[ocispec.AnnotationTitle], b.Annotations[ocispec.AnnotationTitle])
	})
	manifest, err := oras.PackManifest(ctx, store, oras.PackManifestVersion1_1, ArtifactType, oras.PackManifestOptions{
		Layers:              descs,
		ManifestAnnotations: map[string]string{ocispec.AnnotationCreated: created},
	})
	if err != nil {
		return Pushed{}, fmt.Errorf("pack: %w", err)
	}
	if err := store.Tag(ctx, manifest, tag); err != nil {
		return Pushed{}, fmt.Errorf("pack: %w", err)
	}
	// An artifact whose manifest the registry has already is skipped whole,
	// so what was present is what was not uploaded.
	var uploaded atomic.Int64
	opts := oras.DefaultCopyOptions
	opts.PostCopy = func(_ context.Context, d ocispec.Descriptor) error {
		if d.MediaType == MediaTypeTask {
			uploaded.Add(1)
		}
		return nil
	}
	if _, err := oras.Copy(ctx, store, tag, repo, tag, opts); err != nil {
		return Pushed{}, pushFailed(ref, repo.Reference.Registry, err)
	}
	return Pushed{Manifest: manifest, Uploaded: int(uploaded.Load()), Present: len(descs) - int(uploaded.Load())}, nil
}

// pushFailed says in one sentence which registry failed the push and why.
// oras-go names its operation and a URL instead ("failed to perform
// "Exists" on destination: Head ...: connection refused"), which tells
// the author neither what is wrong nor what to do.
func pushFailed(ref, host string, err error) error {
	var dnsErr *net.DNSError
	var netErr net.Error
	var certErr *tls.CertificateVerificationError
	var resp *errcode.ErrorResponse
	var why string
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		why = fmt.Sprintf("nothing answers at %s (connection refused): is the registry running, and is the address right?", host)
	case errors.As(err, &dnsErr):
		why = fmt.Sprintf("the registry's host %s is not found (%s)", dnsErr.Name, dnsErr.Err)
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		why = fmt.Sprintf("the registry at %s did not answer in time", host)
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		why = fmt.Sprintf("the registry at %s speaks plain HTTP, not HTTPS: add --plain-http", host)
	case errors.As(err, &certErr):
		why = fmt.Sprintf("the registry at %s has a certificate this machine does not trust (%v)", host, certErr.Err)
	case errors.As(err, &resp) && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden):
		why = fmt.Sprintf("the registry at %s refused the credentials (%d %s): give --username and --password-env, or run docker login %s",
			host, resp.StatusCode, http.StatusText(resp.StatusCode), host)
	case errors.As(err, &resp):
		why = fmt.Sprintf("the registry at %s answered %d %s (%v)", host, resp.StatusCode, http.StatusText(resp.StatusCode), resp.Errors)
	default:
		return fmt.Errorf("cannot push to %s: %w", ref, err)
	}
	return &pushError{msg: fmt.Sprintf("cannot push to %s: %s", ref, why), err: err}
}

// pushError keeps the cause for errors.Is and errors.As while saying it
// in words.
type pushError struct {
	msg string
	err error
}

func (e *pushError) Error() string { return e.msg }
func (e *pushError) Unwrap() error { return e.err }

// CheckTag reports whether ref names a tag that push can publish to:
// REGISTRY/REPOSITORY:TAG, not a digest.
func CheckTag(ref string) error {
	if r, err := orasregistry.ParseReference(ref); err != nil || r.Reference == "" || strings.Contains(ref, "@") {
		return fmt.Errorf("%q is not REGISTRY/REPOSITORY:TAG", ref)
	}
	return nil
}
