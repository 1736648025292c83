package runner

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// storeVersion changes when the engine's semantics or the file's format
// do, so that verdicts made by an older engine are not reused.
const storeVersion = "2"

// maxStored bounds a verdict file, written and read: a case's details are
// capped by the engine and shared out by the scheduler, so a verdict
// over it has tens of thousands of cases; it is not kept, and the log
// says so.
const maxStored = 16 << 20

// keyFile holds the key that authenticates the verdict files beside it:
// a verdict file is the server's own record, and one edited by hand (a
// FAILED task made PASSED) must not be believed.
const keyFile = "verdicts.key"

// Store keeps verdicts on disk, one small file each, named by the digest
// of the files they were made from and the limits they ran under, so that
// a restart runs nothing that ran before with the same result. Each file
// is its HMAC-SHA256 in hex, a newline, and the verdict as JSON.
type Store struct {
	dir  string
	salt string
	key  []byte
}

// NewStore keeps verdicts in dir, made under limits, authenticated with
// the key kept in dir (made on first use, readable by this user only).
func NewStore(dir string, limits Limits) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("verdict store: %w", err)
	}
	key, err := storeKey(dir)
	if err != nil {
		return nil, fmt.Errorf("verdict store: %w", err)
	}
	salt := fmt.Sprintf("%s\x00%d\x00%s\x00%s", limits.Timeout, limits.Memory, limits.TaskBudget, storeVersion)
	return &Store{dir: dir, salt: salt, key: key}, nil
}

// storeKey reads the store's key, or makes one. It is written aside and
// linked into place, so that two servers sharing the folder end up with
// the same key and no reader ever sees half of one.
func storeKey(dir string) ([]byte, error) {
	p := filepath.Join(dir, keyFile)
	key, err := readRegular(p, 64)
	if err == nil && len(key) == sha256.Size {
		return key, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("key: %w", err)
	}
	fresh := make([]byte, sha256.Size)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("make a key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".key-*") // 0600
	if err != nil {
		return nil, fmt.Errorf("make a key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(fresh)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("make a key: %w", err)
	}
	if key != nil {
		// A key of the wrong size (a write cut short): replaced; the
		// verdicts it signed fail their check and run again.
		err = os.Rename(tmp.Name(), p)
	} else if err = os.Link(tmp.Name(), p); errors.Is(err, fs.ErrExist) {
		return storeKey(dir) // another server made it first
	}
	if err != nil {
		return nil, fmt.Errorf("make a key: %w", err)
	}
	return fresh, nil
}

// readRegular reads a file of at most max bytes that must be a regular
// file: a named pipe put in its place must not block the server, nor a
// device feed it without end.
func readRegular(p string, max int64) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link, not a regular file", p)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return taskformat.ReadOpened(f, p, max)
}

func (s *Store) path(testDigest string) string {
	sum := sha256.Sum256([]byte(testDigest + "\x00" + s.salt))
	return filepath.Join(s.dir, hex.EncodeToString(sum[:])+".json")
}

// mac authenticates a verdict's JSON under the name it is kept by, so
// that a file copied to another name fails too.
func (s *Store) mac(path string, body []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(filepath.Base(path) + "\n"))
	h.Write(body)
	return h.Sum(nil)
}

// Load finds the verdict made from t's files as they are: nil, nil when
// there is none. A file that is there but cannot be believed (not a
// regular file, too large, edited, written with another key, or with
// other cases than t has) is an error that says why; the caller runs the
// cases again, and the new verdict replaces the file.
func (s *Store) Load(t *registry.Task) (*registry.Verdict, error) {
	p := s.path(t.TestDigest)
	data, err := readRegular(p, maxStored)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("verdict file: %w", err)
	}
	sum, body, ok := bytes.Cut(data, []byte("\n"))
	want := s.mac(p, body)
	if got, err := hex.DecodeString(string(sum)); !ok || err != nil || !hmac.Equal(got, want) {
		return nil, fmt.Errorf("verdict file %s fails its check against %s: edited, or not written by this server", p, keyFile)
	}
	var v registry.Verdict
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("verdict file %s: %w", p, err)
	}
	if v.Digest != t.TestDigest {
		return nil, fmt.Errorf("verdict file %s is for other files (digest %.12s, want %.12s)", p, v.Digest, t.TestDigest)
	}
	names := taskformat.CaseNames(t)
	if !slices.EqualFunc(v.Cases, names, func(c registry.CaseResult, n string) bool { return c.File == n }) {
		return nil, fmt.Errorf("verdict file %s has %d cases that are not the task's %d test files", p, len(v.Cases), len(names))
	}
	return registry.NewVerdict(v.Digest, v.Cases), nil
}

// Save writes a verdict, atomically. A verdict whose worker could not even
// start says nothing about the task and is not kept; nor is one over the
// limit that Load reads, so that every file the server writes is one it
// can read back.
func (s *Store) Save(v *registry.Verdict) error {
	for _, c := range v.Cases {
		if c.Status == registry.CaseError && (strings.HasPrefix(c.Message, "start test worker") || strings.HasPrefix(c.Message, "test worker did not start")) {
			return nil
		}
	}
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if n := int64(len(body) + 2*sha256.Size + 1); n > maxStored {
		return fmt.Errorf("save verdict: %d cases make %s, over the %s limit of a verdict file", len(v.Cases),
			registry.SizeString(n), registry.SizeString(maxStored))
	}
	p := s.path(v.Digest)
	data := append([]byte(hex.EncodeToString(s.mac(p, body))+"\n"), body...)
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
	if err := os.Rename(tmp.Name(), p); err != nil {
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
