package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// storeVersion changes when the engine's semantics do, so that verdicts
// made by an older engine are not reused.
const storeVersion = "1"

// maxStored bounds a verdict file read back: its cases' outputs are cut at
// maxActual each, so a real one is far smaller.
const maxStored = 16 << 20

// Store keeps verdicts on disk, one small file each, named by the digest
// of the files they were made from and the limits they ran under, so that
// a restart runs nothing that ran before with the same result.
type Store struct {
	dir  string
	salt string
}

// NewStore keeps verdicts in dir, made under limits.
func NewStore(dir string, limits Limits) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("verdict store: %w", err)
	}
	return &Store{dir: dir, salt: fmt.Sprintf("%s\x00%d\x00%s", limits.Timeout, limits.Memory, storeVersion)}, nil
}

func (s *Store) path(testDigest string) string {
	sum := sha256.Sum256([]byte(testDigest + "\x00" + s.salt))
	return filepath.Join(s.dir, hex.EncodeToString(sum[:])+".json")
}

// Load finds the verdict made from these files; a missing, unreadable or
// foreign file is no verdict, and the cases simply run.
func (s *Store) Load(testDigest string) (*registry.Verdict, bool) {
	f, err := os.Open(s.path(testDigest))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	var v registry.Verdict
	if err := json.NewDecoder(io.LimitReader(f, maxStored)).Decode(&v); err != nil || v.Digest != testDigest {
		return nil, false
	}
	return &v, true
}

// Save writes a verdict, atomically. A verdict whose worker could not even
// start says nothing about the task and is not kept.
func (s *Store) Save(v *registry.Verdict) error {
	for _, c := range v.Cases {
		if c.Status == registry.CaseError && (strings.HasPrefix(c.Message, "start test worker") || strings.HasPrefix(c.Message, "test worker did not start")) {
			return nil
		}
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, ".verdict-*")
	if err != nil {
		return fmt.Errorf("save verdict: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("save verdict: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save verdict: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path(v.Digest)); err != nil {
		return fmt.Errorf("save verdict: %w", err)
	}
	return nil
}

// Prune removes the verdicts made from files that no task in snap has,
// once they have not been current for age (a branch switched back to
// within that time runs nothing again), and what saves cut short left
// behind. It returns how many files it removed. The store's folder would
// otherwise grow with every save ever tested.
//
// A verdict's time says when it was last current: it is set when it is
// saved, and again here, at most once a day, while a task has its files.
func (s *Store) Prune(snap *registry.Snapshot, age time.Duration, now time.Time) (int, error) {
	keep := map[string]bool{}
	for _, e := range snap.Entries() {
		for _, t := range e.Versions {
			if t.TestDigest != "" {
				keep[filepath.Base(s.path(t.TestDigest))] = true
			}
		}
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return 0, fmt.Errorf("prune verdicts: %w", err)
	}
	removed := 0
	for _, e := range entries {
		name := e.Name()
		leftover := strings.HasPrefix(name, ".verdict-")
		if e.IsDir() || !leftover && !strings.HasSuffix(name, ".json") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // gone already
		}
		since := now.Sub(info.ModTime())
		if keep[name] {
			if since > 24*time.Hour {
				_ = os.Chtimes(filepath.Join(s.dir, name), now, now)
			}
			continue
		}
		if leftover && since < time.Hour || !leftover && since < age {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, name)); err == nil {
			removed++
		}
	}
	return removed, nil
}
