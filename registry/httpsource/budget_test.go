package httpsource

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// TestLoadBudget: an index that lists one small bundle many times (each
// listing a task of its own) is small to fetch and large to load. Each
// listing counts: an index over the budget per load is refused as a whole,
// before it is read past the budget, and the last good tasks stay.
func TestLoadBudget(t *testing.T) {
	// A task whose test file inflates a thousandfold.
	bomb := zipBytes(t, taskFiles(id2, "1.0.0").With("tests/big.json",
		fmt.Sprintf(`{"input": {"a": 1}, "expected_output": {}, "pad": %q}`, strings.Repeat("0", 1<<20))))
	tests := []struct {
		name    string
		budget  int64
		wantErr string
	}{
		{"listed bytes over the budget", int64(len(bomb)) * 10,
			fmt.Sprintf("the 50 bundles to fetch add up to %d bytes, over the %d-byte budget per load (max_load_bytes)", int64(len(bomb))*50, int64(len(bomb))*10)},
		{"inflated bytes over the budget", 10 << 20,
			"reads over 10485760 bytes, the budget per load of an http source (max_load_bytes); nothing of this index is served"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := newHostile(t)
			up.list(id1, "1.0.0", "/good.zip", zipBytes(t, taskFiles(id1, "1.0.0")))
			reg := registry.New(time.Now, nil)
			src := newTestHTTPSource(t, up.URL, t.TempDir())
			src.maxIndexBytes = 1 << 20
			idx := reg.AddSource(src)
			if _, err := pull(t, reg, idx, src); err != nil {
				t.Fatal(err)
			}
			src.MaxLoadBytes = tc.budget
			for i := range 50 {
				up.list(fmt.Sprintf("%08d-0000-4000-8000-000000000000", i), "1.0.0", "/bomb.zip", bomb)
			}
			s, err := pull(t, reg, idx, src)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want %q", err, tc.wantErr)
			}
			var served []string
			for _, e := range s.Entries() {
				for _, v := range e.Versions {
					served = append(served, v.ID+" "+v.Version)
				}
			}
			if !slices.Equal(served, []string{id1 + " 1.0.0"}) {
				t.Errorf("served %v, want the last good %s 1.0.0 alone", served, id1)
			}
			if st := s.Sources()[0]; st.Status != registry.StatusDegraded {
				t.Errorf("source status %s, want %s", st.Status, registry.StatusDegraded)
			}
		})
	}
}
