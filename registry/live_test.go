package registry_test

import (
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
)

// watchedSource is a source that follows files: its live state is read
// through registry.Live whenever it is shown.
type watchedSource struct {
	sourcetest.Named
	watches  *int
	watching chan struct{}
}

func (w watchedSource) Watch() registry.WatchStatus {
	return registry.WatchStatus{Mode: "fsnotify", Watches: *w.watches}
}
func (w watchedSource) Watching() <-chan struct{} { return w.watching }

// TestLiveState: a source's live state is served as a field of its status,
// read when asked for, so that it moves with no new snapshot; a source
// without one has none and follows everything from the start.
func TestLiveState(t *testing.T) {
	reg := registry.New(time.Now, nil)
	watches := 3
	live := watchedSource{Named: "disk", watches: &watches, watching: make(chan struct{})}
	reg.AddSource(live)
	reg.AddSource(sourcetest.Named("remote"))
	snap := reg.Snapshot()
	watches = 7
	tests := []struct {
		source      int
		wantOK      bool
		wantWatches int
		wantReady   bool
	}{
		{0, true, 7, false},
		{1, false, 0, true},
	}
	for _, tc := range tests {
		st := snap.Sources()[tc.source]
		w, ok := st.Watch()
		if ok != tc.wantOK || w.Watches != tc.wantWatches {
			t.Errorf("%s: got %+v %v, want %d watches, %v", st.Name, w, ok, tc.wantWatches, tc.wantOK)
		}
		select {
		case <-st.Watching():
			if !tc.wantReady {
				t.Errorf("%s: watching before the source said so", st.Name)
			}
		default:
			if tc.wantReady {
				t.Errorf("%s: not watching, want at once for a source with no files to follow", st.Name)
			}
		}
	}
	close(live.watching)
	<-snap.Sources()[0].Watching()
}
