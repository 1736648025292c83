package watcher

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDebouncer(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	d := newDebouncer(Config{Debounce: 50 * time.Millisecond, MaxWait: 200 * time.Millisecond, Group: filepath.Dir})
	d.add("/r/a/main.js", ms(0))
	d.add("/r/b/main.js", ms(30))
	d.add("/r/a/metadata.json", ms(40)) // a's window starts again
	steps := []struct {
		at   int
		want string // the paths sent, "" for none
	}{
		{49, ""},
		{80, "/r/b/main.js"},
		{89, ""},
		{90, "/r/a/main.js /r/a/metadata.json"},
		{500, ""},
	}
	for _, s := range steps {
		b, ok := d.take(ms(s.at))
		if got := strings.Join(b.Paths, " "); got != s.want || ok != (s.want != "") {
			t.Errorf("at %dms: got %q, want %q", s.at, got, s.want)
		}
	}
	// A constant stream still goes out at the cap.
	for i := 0; i <= 300; i += 10 {
		d.add("/r/c/x", ms(1000+i))
		if b, ok := d.take(ms(1000 + i)); ok {
			if i != 200 || b.First != ms(1000) {
				t.Errorf("sent at +%dms (first %v), want at +200ms", i, b.First)
			}
		}
	}
	// A full rescan swallows the paths pending with it.
	d2 := newDebouncer(Config{Debounce: 10 * time.Millisecond, MaxWait: time.Second, Group: filepath.Dir})
	d2.add("/r/a/x", ms(0))
	d2.addFull("overflow", ms(5))
	if b, ok := d2.take(ms(15)); !ok || !b.Full || b.Reason != "overflow" || len(b.Paths) != 0 || b.First != ms(0) {
		t.Errorf("got %+v, want one full batch", b)
	}
	if _, ok := d2.next(); ok {
		t.Errorf("something still pending after a full batch")
	}
}
