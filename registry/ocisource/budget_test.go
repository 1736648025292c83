package ocisource

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
)

// cacheBytes is what a source keeps in its blob cache.
func cacheBytes(tb testing.TB, s *Source) int64 {
	tb.Helper()
	var n int64
	err := filepath.WalkDir(s.cache.dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func titled(data []byte, mediaType, title string) blob {
	return blob{mediaType: mediaType, data: data, annotations: map[string]string{ocispec.AnnotationTitle: title}}
}

// TestCacheBoundedWhileLayersFail: a tag that keeps moving to artifacts
// of junk zip layers and a layer the registry answers 500 for does not
// grow the cache: junk is checked before it is kept, the cache is pruned
// whether or not a layer failed, and a poll that asks again for the layer
// that failed does not download the junk again.
func TestCacheBoundedWhileLayersFail(t *testing.T) {
	reg := startRegistry(t)
	ref := reg.Addr + "/acme/tasks:stable"
	push(t, ref, layer(t, id1, "1.0.0"))
	f := follow(t, Config{Ref: ref})
	if _, err := f.poll(t); err != nil {
		t.Fatal(err)
	}
	good := cacheBytes(t, f.src)
	broken := taskZip(t, id2, "1.0.0")
	brokenDigest := "sha256:" + sha256Hex(broken)
	reg.set(func(r *testRegistry) {
		r.status = func(path string) int {
			if strings.HasSuffix(path, brokenDigest) {
				return 500
			}
			return 0
		}
	})
	for round := range 3 {
		blobs := []blob{titled(taskZip(t, id1, "1.0.0"), MediaTypeTask, "one.zip"), titled(broken, MediaTypeTask, "two.zip")}
		for i := range 20 {
			junk := make([]byte, 1<<20)
			_, _ = rand.Read(junk)
			blobs = append(blobs, titled(junk, mediaTypeZip, fmt.Sprintf("junk-%d.zip", i)))
		}
		pushArtifact(t, ref, blobs...)
		reg.take()
		snap, err := f.poll(t)
		if err == nil || !strings.Contains(err.Error(), "1 of 22 layers could not be fetched") {
			t.Fatalf("round %d: got %v, want the layer answered 500 reported", round, err)
		}
		junk := 0
		for _, e := range snap.Errors() {
			if strings.HasPrefix(e.Root, "junk-") && e.Kind == registry.KindArchive && strings.Contains(e.Message(), "is not a task archive") {
				junk++
			}
		}
		if junk != 20 {
			t.Errorf("round %d: got %d junk layers reported as not task archives, want 20: %v", round, junk, snap.Errors())
		}
		if got := cacheBytes(t, f.src); got > good+1<<20 {
			t.Errorf("round %d: the cache holds %d bytes, want about the %d of what is served", round, got, good)
		}
		reg.take()
		if _, err := f.poll(t); err == nil {
			t.Fatalf("round %d: the layer answered 500 loaded", round)
		}
		reqs, _ := reg.take()
		if got := count(reqs, "GET", "/blobs/"); got != 1 {
			t.Errorf("round %d: polling again made %d downloads %v, want 1: the layer that failed", round, got, reqs)
		}
	}
}

// TestManifestBudget: an artifact that lists one layer many times is
// small to download and large to load; each listing counts, and an
// artifact over its budget is refused as a whole before it is read past
// it, and not downloaded again while the tag stays on it. The last good
// tasks stay.
func TestManifestBudget(t *testing.T) {
	// A real task whose test file inflates a thousandfold.
	bomb := registrytest.ZipBytes(t, registrytest.Task(id2, "1.0.0").With("tests/big.json",
		fmt.Sprintf(`{"input": {"a": 1}, "expected_output": {}, "pad": %q}`, strings.Repeat("0", 1<<20))))
	tests := []struct {
		name    string
		copies  int
		budget  int64
		wantErr string
	}{
		{"listed bytes over the budget", 50, int64(len(bomb)) * 10, fmt.Sprintf("its 51 task layers add up to %d bytes, over the %d-byte budget per manifest (max_load_bytes)",
			int64(len(bomb))*50+int64(len(taskZip(t, id1, "1.0.1"))), int64(len(bomb))*10)},
		{"inflated bytes over the budget", 50, 10 << 20, "reads over 10485760 bytes, the budget per load of an oci source (max_load_bytes); nothing of this manifest is served"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := startRegistry(t)
			ref := reg.Addr + "/acme/tasks:stable"
			push(t, ref, layer(t, id1, "1.0.0"))
			f := follow(t, Config{Ref: ref})
			if _, err := f.poll(t); err != nil {
				t.Fatal(err)
			}
			f.src.MaxLoadBytes = tc.budget
			blobs := []blob{titled(taskZip(t, id1, "1.0.1"), MediaTypeTask, "one.zip")}
			for i := range tc.copies {
				blobs = append(blobs, titled(bomb, MediaTypeTask, fmt.Sprintf("copy-%d.zip", i)))
			}
			pushArtifact(t, ref, blobs...)
			snap, err := f.poll(t)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want %q", err, tc.wantErr)
			}
			if got := versions(snap); len(got) != 1 || got[0] != "1 1.0.0" {
				t.Errorf("served %v, want the last good 1 1.0.0 alone", got)
			}
			if st := snap.Sources()[0]; st.Status != registry.StatusDegraded {
				t.Errorf("source status %s, want %s", st.Status, registry.StatusDegraded)
			}
			reg.take()
			if _, err := f.poll(t); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("second poll: got %v, want %q again", err, tc.wantErr)
			}
			if reqs, _ := reg.take(); count(reqs, "GET", "") != 0 {
				t.Errorf("second poll downloaded %v, want nothing: the tag did not move", reqs)
			}
		})
	}
}
