package gitsource

import (
	"context"
	"io/fs"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
)

// TestFetchAndRead goes the whole way through the core: ls-remote, a
// shallow fetch over real smart HTTP, files read from objects, and the
// roots that a second commit changes.
func TestFetchAndRead(t *testing.T) {
	srv := newGitServer(t, "")
	r := newRepo(t, srv.root, "tasks")
	r.write(registrytest.Task(registrytest.ID1, "1.0.0").Under("tasks/add"))
	r.write(registrytest.Task(registrytest.ID2, "1.0.0").Under("tasks/sub"))
	r.write(registrytest.Files{"README.md": "hello", "tasks/.hidden/metadata.json": "{}"})
	first := r.commit("first")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rem, err := newRemote(srv.url("tasks"), "", "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	refs, err := rem.list(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := resolve(refs, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.commit.String() != first || res.name != plumbing.NewBranchReferenceName("main") {
		t.Fatalf("HEAD resolved to %s %s, want refs/heads/main %s", res.name, res.commit, first)
	}
	c, err := openCache(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.fetch(ctx, rem, res)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != first {
		t.Fatalf("fetched %s, want %s", got, first)
	}
	obj := c.objects()
	root, err := obj.tree(got, "tasks")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := obj.tree(got, "tasks/add")
	if err != nil {
		t.Fatal(err)
	}
	fsys := treeFS{obj: obj, root: sub}
	if err := fstest.TestFS(fsys, "metadata.json", "main.js", "tests/one.json"); err != nil {
		t.Fatal(err)
	}
	data, err := fs.ReadFile(fsys, "main.js")
	if err != nil || string(data) != registrytest.Task(registrytest.ID1, "1.0.0")["main.js"] {
		t.Fatalf("main.js: got %q, %v", data, err)
	}

	w := &walker{obj: obj}
	var d delta
	if err := w.diff(plumbing.ZeroHash, root, ".", &d); err != nil {
		t.Fatal(err)
	}
	if want := []string{"add", "sub"}; !slices.Equal(d.load, want) {
		t.Fatalf("first load: got %v, want %v", d.load, want)
	}

	// Change one task, remove the other: only they show up.
	r.write(registrytest.Files{"tasks/add/main.js": "(function(input) { return {a: 1}; })\n", "tasks/sub": "", "README.md": "changed"})
	second := r.commit("second")
	refs, err = rem.list(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, _ = resolve(refs, "main")
	got, err = c.fetch(ctx, rem, res)
	if err != nil || got.String() != second {
		t.Fatalf("second fetch: got %s, %v; want %s", got, err, second)
	}
	obj = c.objects()
	root2, err := obj.tree(got, "tasks")
	if err != nil {
		t.Fatal(err)
	}
	d = delta{}
	w = &walker{obj: obj}
	if err := w.diff(root, root2, ".", &d); err != nil {
		t.Fatal(err)
	}
	if want := []string{"add"}; !slices.Equal(d.load, want) {
		t.Fatalf("changed roots: got %v, want %v", d.load, want)
	}
	if gone := d.gone(map[string]bool{"add": true, "sub": true}); !slices.Equal(gone, []string{"sub"}) {
		t.Fatalf("gone: got %v, want [sub]", gone)
	}
}
