package gitsource

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
)

// BenchmarkLoadCommit compares loading a commit from scratch with loading
// the next one, which changes one task of 500: the second should cost
// about one task, not the catalogue. Both read from the local cache; the
// network is not part of it.
func BenchmarkLoadCommit(b *testing.B) {
	const n = 500
	srv := newGitServer(b, "")
	repo := newRepo(b, srv.root, "tasks")
	all := registrytest.Files{}
	for i := range n {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		maps.Copy(all, registrytest.Task(id, "1.0.0").Under(fmt.Sprintf("tasks/g%02d/t%04d", i/50, i)))
	}
	repo.write(all)
	first := plumbing.NewHash(repo.commit("first"))
	repo.write(registrytest.Task("00000007-0000-4000-8000-000000000007", "1.1.0").Under("tasks/g00/t0007"))
	second := plumbing.NewHash(repo.commit("second"))

	s, err := New(Config{URL: "file://" + repo.bare, Path: "tasks", CacheDir: b.TempDir()}, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []plumbing.Hash{first, second} {
		if _, err := s.cache.fetch(context.Background(), s.remote, resolved{name: plumbing.ReferenceName(c.String()), commit: c}); err != nil {
			b.Fatal(err)
		}
	}
	s.loadCommit(first, registry.Update{}) // warm the object cache of the disk
	base := *s
	base.known = maps.Clone(s.known)

	b.Run("first load of 500 tasks", func(b *testing.B) {
		for b.Loop() {
			s.commit, s.tree, s.known = plumbing.ZeroHash, plumbing.ZeroHash, map[string]bool{}
			if u := s.loadCommit(first, registry.Update{}); len(u.Results) != n {
				b.Fatalf("loaded %d roots, want %d: %v", len(u.Results), n, u.Err)
			}
		}
	})
	b.Run("one of 500 tasks changed", func(b *testing.B) {
		for b.Loop() {
			s.commit, s.tree, s.known = base.commit, base.tree, maps.Clone(base.known)
			if u := s.loadCommit(second, registry.Update{}); len(u.Results) != 1 {
				b.Fatalf("loaded %d roots, want 1: %v", len(u.Results), u.Err)
			}
		}
	})
}
