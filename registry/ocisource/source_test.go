package ocisource

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFollowTag(t *testing.T) {
	reg := startRegistry(t)
	ref := reg.Addr + "/acme/tasks:stable"
	first := push(t, ref, layer(t, id1, "1.0.0"), layer(t, id2, "1.0.0"))
	f := follow(t, Config{Ref: ref})

	// First load: every task of the artifact, its place showing the layer.
	snap, err := f.poll(t)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := versions(snap), []string{"1 1.0.0", "2 1.0.0"}; !slices.Equal(got, want) {
		t.Fatalf("first load: got %v, want %v", got, want)
	}
	if got := snap.Sources()[0].Revision; got != first.Manifest.Digest.String() {
		t.Errorf("revision: got %s, want %s", got, first.Manifest.Digest)
	}
	task, _ := snap.Task(id1, "1.0.0")
	if want := reg.Addr + "/acme/tasks@sha256:"; !strings.HasPrefix(task.Path, want) || !strings.HasSuffix(task.Path, ":"+id1+"-1.0.0.zip") {
		t.Errorf("path: got %s, want %s...:%s-1.0.0.zip", task.Path, want, id1)
	}

	// An unchanged tag costs one HEAD request.
	reg.take()
	if _, err := f.poll(t); err != nil {
		t.Fatal(err)
	}
	if reqs, _ := reg.take(); len(reqs) != 1 || reqs[0] != "HEAD /v2/acme/tasks/manifests/stable" {
		t.Errorf("unchanged tag: got requests %v, want one HEAD of the manifest", reqs)
	}

	// A new push reaches the catalogue; a task it no longer holds goes; only
	// the new layer is downloaded.
	// (0.9.0's layer comes first, so new and kept layers interleave.)
	second := push(t, ref, layer(t, id1, "0.9.0"), layer(t, id1, "1.0.0"), layer(t, id1, "1.1.0"), layer(t, id3, "2.0.0-rc.1"))
	snap, err = f.poll(t)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := versions(snap), []string{"1 0.9.0", "1 1.0.0", "1 1.1.0", "3 2.0.0-rc.1"}; !slices.Equal(got, want) {
		t.Fatalf("after a new push: got %v, want %v", got, want)
	}
	if got, want := snap.Sources()[0].Revision, second.Manifest.Digest.String(); got != want {
		t.Errorf("revision after a new push: got %s, want %s", got, want)
	}
	reqs, _ := reg.take()
	if got := count(reqs, "GET", "/blobs/"); got != 3 {
		t.Errorf("after a new push: got %d blob downloads (%v), want 3: the layers not seen before", got, reqs)
	}
}

func TestRegistryGoesAway(t *testing.T) {
	reg := startRegistry(t)
	ref := reg.Addr + "/acme/tasks:stable"
	push(t, ref, layer(t, id1, "1.0.0"))
	cache := t.TempDir()
	f := follow(t, Config{Ref: ref, CacheDir: cache})
	if _, err := f.poll(t); err != nil {
		t.Fatal(err)
	}

	// The registry goes away: the last good artifact stays, the error says
	// which ref and why.
	reg.stop()
	snap, err := f.poll(t)
	if err == nil || !strings.Contains(err.Error(), ref) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("registry gone: got error %v, want one naming %s and the refused connection", err, ref)
	}
	if got, want := versions(snap), []string{"1 1.0.0"}; !slices.Equal(got, want) {
		t.Errorf("registry gone: got %v, want the last good %v", got, want)
	}
	if st := snap.Sources()[0]; st.Status != "degraded" || !strings.Contains(st.Error, "connection refused") {
		t.Errorf("registry gone: source status %q (%s), want degraded with the reason", st.Status, st.Error)
	}

	// A restart with the registry down serves the artifact saved at the last
	// success, from the cache alone, and says so.
	restarted := follow(t, Config{Ref: ref, CacheDir: cache})
	snap, err = restarted.poll(t)
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "saved at") {
		t.Fatalf("restart with the registry down: got error %v, want the refused connection and the saved artifact", err)
	}
	if got, want := versions(snap), []string{"1 1.0.0"}; !slices.Equal(got, want) {
		t.Fatalf("restart with the registry down: got %v, want %v", got, want)
	}
	if got, want := snap.Sources()[0].Revision, f.reg.Snapshot().Sources()[0].Revision; got == "" || got != want {
		t.Errorf("restart with the registry down: revision %q, want the one served before, %q", got, want)
	}
	// Its content is read lazily from the cached layer.
	task, _ := snap.Task(id1, "1.0.0")
	if js, err := taskformat.NewContent(0).Read(task, "main.js"); err != nil || !strings.Contains(string(js), "function") {
		t.Errorf("main.js of a task served from the cache: got %q, %v", js, err)
	}

	// The registry comes back with the same artifact: one HEAD, and the
	// error clears.
	reg.take()
	reg.restart()
	snap, err = restarted.poll(t)
	if err != nil {
		t.Fatalf("registry back: %v", err)
	}
	if st := snap.Sources()[0]; st.Status != "ok" {
		t.Errorf("registry back: source status %q (%s), want ok", st.Status, st.Error)
	}
	if reqs, _ := reg.take(); len(reqs) != 1 || !strings.HasPrefix(reqs[0], "HEAD ") {
		t.Errorf("registry back with the same artifact: got %v, want one HEAD", reqs)
	}
}

// TestPinnedDigest follows a digest: it never moves, so once loaded it costs
// no request, and a restart serves it from the cache even while the
// registry is down, with nothing to report.
func TestPinnedDigest(t *testing.T) {
	reg := startRegistry(t)
	pushed := push(t, reg.Addr+"/acme/tasks:stable", layer(t, id1, "1.0.0"))
	ref := reg.Addr + "/acme/tasks@" + pushed.Manifest.Digest.String()
	cache := t.TempDir()
	f := follow(t, Config{Ref: ref, CacheDir: cache})
	if snap, err := f.poll(t); err != nil || !slices.Equal(versions(snap), []string{"1 1.0.0"}) {
		t.Fatalf("first load: got %v, %v", versions(snap), err)
	}
	push(t, reg.Addr+"/acme/tasks:stable", layer(t, id2, "1.0.0")) // the tag moves; the digest does not
	reg.take()
	if snap, err := f.poll(t); err != nil || !slices.Equal(versions(snap), []string{"1 1.0.0"}) {
		t.Fatalf("second poll: got %v, %v", versions(snap), err)
	}
	if reqs, _ := reg.take(); len(reqs) != 0 {
		t.Errorf("second poll: got requests %v, want none", reqs)
	}

	reg.stop()
	restarted := follow(t, Config{Ref: ref, CacheDir: cache})
	snap, err := restarted.poll(t)
	if err != nil || !slices.Equal(versions(snap), []string{"1 1.0.0"}) {
		t.Fatalf("restart with the registry down: got %v, %v; want the pinned task and no error", versions(snap), err)
	}
}

// TestFailedLayerIsFetchedAgain checks that a layer that could not be
// fetched is asked for again at the next poll, though the tag did not move,
// and only it.
func TestFailedLayerIsFetchedAgain(t *testing.T) {
	reg := startRegistry(t)
	ref := reg.Addr + "/acme/tasks:stable"
	a, b := layer(t, id1, "1.0.0"), layer(t, id2, "1.0.0")
	push(t, ref, a, b)
	bDigest := "sha256:" + sha256Hex(b.Zip)
	reg.set(func(r *testRegistry) {
		r.tamper = func(req string, body []byte) []byte {
			if strings.HasSuffix(req, bDigest) {
				return append([]byte{}, body[1:]...)
			}
			return body
		}
	})
	f := follow(t, Config{Ref: ref})
	snap, err := f.poll(t)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 layers could not be fetched") {
		t.Errorf("first poll: got error %v, want one layer not fetched", err)
	}
	if got, want := versions(snap), []string{"1 1.0.0"}; !slices.Equal(got, want) {
		t.Errorf("first poll: got %v, want %v", got, want)
	}

	reg.set(func(r *testRegistry) { r.tamper = nil })
	reg.take()
	snap, err = f.poll(t)
	if err != nil {
		t.Fatalf("second poll: %v", err)
	}
	if got, want := versions(snap), []string{"1 1.0.0", "2 1.0.0"}; !slices.Equal(got, want) {
		t.Errorf("second poll: got %v, want %v", got, want)
	}
	if reqs, _ := reg.take(); len(reqs) != 2 || count(reqs, "GET", bDigest) != 1 {
		t.Errorf("second poll: got requests %v, want the HEAD and the one layer that failed", reqs)
	}
}

// TestNewLayersBesideKeptOnes loads an artifact where new layers and layers
// kept from the last load interleave, many of each, so that downloads run
// while kept results are recorded (this once crashed the process).
func TestNewLayersBesideKeptOnes(t *testing.T) {
	reg := startRegistry(t)
	ref := reg.Addr + "/acme/tasks:stable"
	var kept, all []Layer
	var want []string
	for i := range 20 {
		kept = append(kept, layer(t, id1, fmt.Sprintf("1.%d.1", i)))
		all = append(all, kept[i], layer(t, id1, fmt.Sprintf("1.%d.0", i)))
		want = append(want, fmt.Sprintf("1 1.%d.0", i), fmt.Sprintf("1 1.%d.1", i))
	}
	push(t, ref, kept...)
	f := follow(t, Config{Ref: ref})
	if _, err := f.poll(t); err != nil {
		t.Fatal(err)
	}
	push(t, ref, all...)
	snap, err := f.poll(t)
	if err != nil {
		t.Fatal(err)
	}
	got := versions(snap)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestCachePruned checks that the cache holds the blobs of the artifact
// served and of the one before it (whose layers stale tasks are read
// from), not of every artifact the tag ever pointed at.
func TestCachePruned(t *testing.T) {
	reg := startRegistry(t)
	ref := reg.Addr + "/acme/tasks:stable"
	a, b, c := layer(t, id1, "1.0.0"), layer(t, id2, "1.0.0"), layer(t, id3, "1.0.0")
	f := follow(t, Config{Ref: ref})
	cached := func(l Layer) bool {
		_, err := os.Stat(filepath.Join(f.src.cache.blobDir(), sha256Hex(l.Zip)))
		return err == nil
	}
	steps := []struct {
		push       []Layer
		want, gone []Layer
	}{
		{push: []Layer{a, b}, want: []Layer{a, b}},
		{push: []Layer{c}, want: []Layer{a, b, c}},
		{push: []Layer{a}, want: []Layer{a, c}, gone: []Layer{b}},
		{push: []Layer{a}, want: []Layer{a}, gone: []Layer{b, c}},
	}
	for i, st := range steps {
		push(t, ref, st.push...)
		if i == len(steps)-1 {
			// The same artifact again: only a rescan after a restart would
			// load it; a new source over the same cache does.
			f = follow(t, Config{Ref: ref, CacheDir: filepath.Dir(filepath.Dir(f.src.cache.dir))})
		}
		if _, err := f.poll(t); err != nil {
			t.Fatal(err)
		}
		for _, l := range st.want {
			if !cached(l) {
				t.Errorf("step %d: %s %s is not in the cache", i+1, l.ID[:1], l.Version)
			}
		}
		for _, l := range st.gone {
			if cached(l) {
				t.Errorf("step %d: %s %s is still in the cache", i+1, l.ID[:1], l.Version)
			}
		}
	}
}
