package ocisource

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/memory"
	"oras.land/oras-go/v2/errdef"
)

// blob is a layer as any tool could push it.
type blob struct {
	mediaType   string
	annotations map[string]string
	data        []byte
}

// pushArtifact publishes an artifact of arbitrary layers with oras-go, as
// other tools do, and tags it.
func pushArtifact(tb testing.TB, ref string, blobs ...blob) {
	tb.Helper()
	ctx := context.Background()
	store := memory.New()
	var descs []ocispec.Descriptor
	for _, b := range blobs {
		d := content.NewDescriptorFromBytes(b.mediaType, b.data)
		d.Annotations = b.annotations
		// One blob may be listed many times.
		if err := store.Push(ctx, d, bytes.NewReader(b.data)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
			tb.Fatal(err)
		}
		descs = append(descs, d)
	}
	m, err := oras.PackManifest(ctx, store, oras.PackManifestVersion1_1, "application/vnd.example", oras.PackManifestOptions{Layers: descs})
	if err != nil {
		tb.Fatal(err)
	}
	copyTo(tb, store, m, ref)
}

// pushIndex tags an image index of one artifact, which a catalogue must
// not be.
func pushIndex(tb testing.TB, ref string) {
	tb.Helper()
	ctx := context.Background()
	store := memory.New()
	m, err := oras.PackManifest(ctx, store, oras.PackManifestVersion1_1, "application/vnd.example", oras.PackManifestOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	data, err := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{m}})
	if err != nil {
		tb.Fatal(err)
	}
	idx := content.NewDescriptorFromBytes(ocispec.MediaTypeImageIndex, data)
	if err := store.Push(ctx, idx, bytes.NewReader(data)); err != nil {
		tb.Fatal(err)
	}
	copyTo(tb, store, idx, ref)
}

// deleteTag removes a tag from the registry.
func deleteTag(tb testing.TB, ref string) {
	tb.Helper()
	registry, rest, _ := strings.Cut(ref, "/")
	repo, tag, _ := strings.Cut(rest, ":")
	req, err := http.NewRequest(http.MethodDelete, "http://"+registry+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		tb.Fatalf("delete %s: %s", ref, resp.Status)
	}
	http.DefaultClient.CloseIdleConnections()
}

func copyTo(tb testing.TB, store *memory.Store, root ocispec.Descriptor, ref string) {
	tb.Helper()
	ctx := context.Background()
	repo, hc, err := Remote{PlainHTTP: true}.repository(ref)
	if err != nil {
		tb.Fatal(err)
	}
	defer hc.CloseIdleConnections()
	tag := repo.Reference.Reference
	if err := store.Tag(ctx, root, tag); err != nil {
		tb.Fatal(err)
	}
	if _, err := oras.Copy(ctx, store, tag, repo, tag, oras.DefaultCopyOptions); err != nil {
		tb.Fatal(err)
	}
}

// TestHostileArtifacts follows a tag that moves from a good catalogue to a
// bad or hostile one. An artifact that cannot be served as a whole is an
// error on the source and the last good tasks stay; a layer that cannot
// be is an error on its task, whose last good version stays; what breaks a
// bound is refused before it is downloaded.
func TestHostileArtifacts(t *testing.T) {
	good := taskZip(t, id1, "1.0.0")
	taskLayer := func(data []byte, id, version string) blob {
		return blob{mediaType: MediaTypeTask, data: data, annotations: map[string]string{
			ocispec.AnnotationTitle: id + "-" + version + ".zip", AnnotationUUID: id, AnnotationVersion: version}}
	}
	tests := []struct {
		name     string
		limits   func(s *Source)
		tamper   func(req string, body []byte) []byte
		publish  func(tb testing.TB, ref string) // replaces the good artifact at ref
		wantErr  string                          // error on the source ("" for none)
		wantTask string                          // error on task 1 ("" for none)
		wantKind registry.Kind
		wantGets int // blob and manifest downloads after the HEAD
	}{
		{name: "tag removed", publish: deleteTag, wantErr: "not found in the registry"},
		{name: "image index", publish: pushIndex, wantErr: "want an artifact manifest", wantGets: 0},
		{name: "no task in it", publish: func(tb testing.TB, ref string) {
			pushArtifact(tb, ref, blob{mediaType: "text/plain", data: []byte("hello")})
		}, wantErr: "holds no task zip: its layers are 1 text/plain", wantGets: 1},
		{name: "manifest over the limit", limits: func(s *Source) { s.MaxManifestBytes = 200 }, publish: func(tb testing.TB, ref string) {
			pushArtifact(tb, ref, taskLayer(taskZip(tb, id1, "1.0.1"), id1, "1.0.1"))
		}, wantErr: "over the 200-byte limit"},
		{name: "too many layers", limits: func(s *Source) { s.MaxLayers = 1 }, publish: func(tb testing.TB, ref string) {
			pushArtifact(tb, ref, taskLayer(good, id1, "1.0.0"), taskLayer(taskZip(tb, id2, "1.0.0"), id2, "1.0.0"))
		}, wantErr: "2 layers, over the limit of 1", wantGets: 1},
		{name: "layer over the limit", limits: func(s *Source) { s.MaxLayerBytes = 100 }, publish: func(tb testing.TB, ref string) {
			pushArtifact(tb, ref, taskLayer(taskZip(tb, id1, "1.0.0")[:150], id1, "1.0.0"))
		}, wantTask: "150 bytes, over the 100-byte limit", wantKind: registry.KindArchive, wantGets: 1},
		{name: "layer that does not match its digest", tamper: func(_ string, b []byte) []byte {
			b = bytes.Clone(b)
			b[len(b)/2] ^= 0xff
			return b
		}, publish: func(tb testing.TB, ref string) {
			pushArtifact(tb, ref, taskLayer(append(bytes.Clone(good), 0), id1, "1.0.0"))
		}, wantTask: "does not match its digest", wantKind: registry.KindFetch, wantGets: 2},
		{name: "layer longer than it says", tamper: func(_ string, b []byte) []byte { return append(bytes.Clone(b), 1, 2, 3) },
			publish: func(tb testing.TB, ref string) {
				pushArtifact(tb, ref, taskLayer(append(bytes.Clone(good), 0), id1, "1.0.0"))
			}, wantTask: "Content-Length", wantKind: registry.KindFetch, wantGets: 2},
		{name: "not a zip", publish: func(tb testing.TB, ref string) {
			pushArtifact(tb, ref, taskLayer([]byte("this is not a zip"), id1, "1.0.0"))
		}, wantTask: "zip", wantKind: registry.KindArchive, wantGets: 2},
		{name: "annotations that lie", publish: func(tb testing.TB, ref string) {
			pushArtifact(tb, ref, taskLayer(taskZip(tb, id2, "1.0.0"), id1, "1.0.0"))
		}, wantTask: "annotations say " + id1, wantKind: registry.KindInvalid, wantGets: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := startRegistry(t)
			ref := reg.Addr + "/acme/tasks:stable"
			push(t, ref, Layer{ID: id1, Version: "1.0.0", Zip: good})
			f := follow(t, Config{Ref: ref})
			if _, err := f.poll(t); err != nil {
				t.Fatal(err)
			}
			if tc.limits != nil {
				tc.limits(f.src)
			}
			tc.publish(t, ref)
			reg.set(func(r *testRegistry) { r.tamper = tc.tamper })
			reg.take()

			snap, err := f.poll(t)
			reqs, _ := reg.take()
			if tc.wantErr == "" && err != nil && !strings.Contains(err.Error(), "could not be fetched") {
				t.Errorf("got source error %v, want none", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "/acme/tasks")) {
				t.Errorf("got source error %v, want one naming the ref and saying %q", err, tc.wantErr)
			}
			if got := count(reqs, "GET", ""); got != tc.wantGets {
				t.Errorf("got %d downloads %v, want %d", got, reqs, tc.wantGets)
			}
			// The last good version of the task stays, whatever happened, and
			// its content can still be read from the cache.
			if got := versions(snap); !slices.Contains(got, "1 1.0.0") {
				t.Errorf("got %v, want the last good 1 1.0.0 still served", got)
			} else if task, _ := snap.Task(id1, "1.0.0"); task != nil {
				if _, err := taskformat.NewContent(0).Read(task, "main.js"); err != nil {
					t.Errorf("main.js of the last good task: %v", err)
				}
			}
			var taskErrs []*registry.LoadError
			for _, e := range snap.Errors() {
				if e.Root != "" && e.Root != "." {
					taskErrs = append(taskErrs, e)
				}
			}
			switch {
			case tc.wantTask == "" && len(taskErrs) != 0:
				t.Errorf("got task errors %v, want none", taskErrs)
			case tc.wantTask != "" && (len(taskErrs) != 1 || !strings.Contains(taskErrs[0].Message(), tc.wantTask) || taskErrs[0].Kind != tc.wantKind):
				t.Errorf("got task errors %v, want one of kind %s saying %q", taskErrs, tc.wantKind, tc.wantTask)
			}
			// Nothing that failed a check is kept in the cache.
			if tc.tamper != nil {
				blobs, _ := os.ReadDir(f.src.cache.blobDir())
				for _, b := range blobs {
					if strings.HasPrefix(b.Name(), ".") {
						t.Errorf("a partial download was left in the cache: %s", b.Name())
					}
				}
			}
		})
	}
}
