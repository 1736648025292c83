package ocisource

import (
	"fmt"
	"testing"
)

// BenchmarkPoll measures one poll of a catalogue of 100 task versions: an
// unchanged tag (one HEAD), a push that changed one task (the manifest and
// one layer), and a cold start (everything downloaded and loaded). Compare
// the three: a poll should cost what changed, not the catalogue.
func BenchmarkPoll(b *testing.B) {
	const n = 100
	reg := startRegistry(b)
	ref := reg.Addr + "/acme/tasks:stable"
	layers := make([]Layer, n)
	for i := range layers {
		layers[i] = layer(b, fmt.Sprintf("%08x-0000-4000-8000-000000000000", i), "1.0.0")
	}
	push(b, ref, layers...)
	check := func(b *testing.B, f *follower) {
		b.Helper()
		if snap, err := f.poll(b); err != nil || snap.VersionCount() != n {
			b.Fatalf("got %d versions, %v; want %d", snap.VersionCount(), err, n)
		}
	}

	b.Run("unchanged", func(b *testing.B) {
		f := follow(b, Config{Ref: ref})
		check(b, f)
		for b.Loop() {
			check(b, f)
		}
	})
	b.Run("one-task-changed", func(b *testing.B) {
		f := follow(b, Config{Ref: ref})
		check(b, f)
		i := 0
		for b.Loop() {
			b.StopTimer()
			i++
			changed := append([]Layer(nil), layers...)
			changed[0] = Layer{ID: layers[0].ID, Version: fmt.Sprintf("1.0.%d", i), Zip: taskZip(b, layers[0].ID, fmt.Sprintf("1.0.%d", i))}
			push(b, ref, changed...)
			b.StartTimer()
			check(b, f)
		}
	})
	b.Run("cold", func(b *testing.B) {
		push(b, ref, layers...)
		for b.Loop() {
			check(b, follow(b, Config{Ref: ref}))
		}
	})
}
