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
