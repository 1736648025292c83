package main

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/source"
)

// TestKinds: every kind of the table has a type of its own, an entry that
// decodes by yaml tags, and documents only keys its entry has, so that
// the table of defaults never names a key the file would refuse.
func TestKinds(t *testing.T) {
	seen := map[registry.SourceType]bool{}
	for _, k := range kinds() {
		if k.Type == "" || seen[k.Type] {
			t.Errorf("kind %q: empty or listed twice", k.Type)
		}
		seen[k.Type] = true
		rt := reflect.TypeOf(k.New())
		if rt.Kind() != reflect.Pointer || rt.Elem().Kind() != reflect.Struct {
			t.Errorf("kind %s: New gives a %s, want a pointer to a struct", k.Type, rt)
			continue
		}
		var keys []string
		for _, f := range yamlFields(rt.Elem()) {
			keys = append(keys, f.name)
		}
		if !slices.Contains(keys, "name") {
			t.Errorf("kind %s: its entry has no name key: %v", k.Type, keys)
		}
		for _, d := range k.Defaults {
			if !slices.Contains(keys, d.Key) {
				t.Errorf("kind %s documents %s, which its entry does not have (%v)", k.Type, d.Key, keys)
			}
		}
	}
}

// TestSourceDefaults: the kinds' defaults make one row a key and value,
// which names each kind with its meaning, so that a new kind's keys show
// in the table without editing it.
func TestSourceDefaults(t *testing.T) {
	kind := func(typ string, d ...source.Default) source.Kind {
		return source.Kind{Type: registry.SourceType(typ), Defaults: d}
	}
	got := sourceDefaults([]source.Kind{
		kind("a", source.Polled(time.Minute, time.Second, "one request", 1<<20)[:2]...),
		kind("b", source.Default{Key: "interval", Value: "1m0s", About: "poll period, minimum 1s"}, source.Default{Key: "timeout", Value: "1s", About: "one poll"}),
		kind("c", source.Default{Key: "interval", Value: "1m0s", About: "poll period, minimum 1s"}, source.Default{Key: "timeout", Value: "2s", About: "one poll"}),
	})
	var lines []string
	for _, s := range got {
		lines = append(lines, s.key+" "+s.value+" "+s.about)
	}
	want := []string{
		"registry.sources[].interval 1m0s a, b or c source: poll period, minimum 1s",
		"registry.sources[].timeout 1s a source: one request; b source: one poll",
		"registry.sources[].timeout 2s c source: one poll",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}
