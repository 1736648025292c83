package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
)

// contentSum is an order-free sum over the parts of a catalogue (each
// entry, each root's errors, each identity's conflicts): the XOR of their
// hashes. Adding and removing a part is one XOR, so the next snapshot's
// sum costs what the change touched, not the size of the catalogue.
type contentSum [sha256.Size]byte

func (s *contentSum) toggle(part [sha256.Size]byte) {
	for i := range s {
		s[i] ^= part[i]
	}
}

func entrySum(e *Entry) [sha256.Size]byte {
	h := sha256.New()
	fmt.Fprintf(h, "entry\x00%s\x00", e.ID)
	for _, t := range e.Versions {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%t\x00", t.Version, t.Digest, t.Source, t.Path, t.Stale)
		writeError(h, t.Error)
	}
	return [sha256.Size]byte(h.Sum(nil))
}

func errorsSum(key string, errs []*LoadError) [sha256.Size]byte {
	h := sha256.New()
	fmt.Fprintf(h, "errors\x00%s\x00", key)
	for _, e := range errs {
		writeError(h, e)
	}
	return [sha256.Size]byte(h.Sum(nil))
}

func conflictsSum(id string, cs []Conflict) [sha256.Size]byte {
	h := sha256.New()
	fmt.Fprintf(h, "conflicts\x00%s\x00", id)
	for _, c := range cs {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00", c.ID, c.Version, c.Source, c.Path, c.Winner)
	}
	return [sha256.Size]byte(h.Sum(nil))
}

// verdictSum leaves durations out: they differ from run to run and from
// replica to replica while the verdict is the same.
func verdictSum(id string, v *Verdict) [sha256.Size]byte {
	h := sha256.New()
	fmt.Fprintf(h, "verdict\x00%s\x00%s\x00%s\x00", id, v.Digest, v.Status)
	for _, c := range v.Cases {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00%d\x00%d\x00", c.File, c.Status, c.Message, c.Expected, c.Actual, c.Line, c.Column)
	}
	return [sha256.Size]byte(h.Sum(nil))
}

func writeError(h hash.Hash, e *LoadError) {
	if e == nil {
		h.Write([]byte{0})
		return
	}
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00%d\x00%s\x00%s\x00", e.Source, e.Path, e.File, e.Line, e.Column, e.Kind, e.Message())
}

// ContentDigest names what the catalogue holds: tasks (by their files'
// digests), load errors, conflicts, sources (with the revision each
// serves), readiness and test verdicts, but not the generation counter or
// load times. Two registries fed the same files give the same digest, so
// a client may take an answer's ETag from one to the other.
func (s *Snapshot) ContentDigest() string { return s.digest(true) }

// CatalogueDigest is ContentDigest without the test verdicts (and whether
// tests run here): what an answer that shows no verdict depends on. It
// stays the same while tests run, and between a replica whose tests have
// finished and one whose tests have not.
func (s *Snapshot) CatalogueDigest() string { return s.digest(false) }

func (s *Snapshot) digest(verdicts bool) string {
	h := sha256.New()
	h.Write(s.sum[:])
	for _, src := range s.sources {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00%d\x00%s\x00", src.Name, src.Type, src.Location, src.Status, src.Error, src.TaskCount, src.Revision)
	}
	fmt.Fprintf(h, "%t", s.ready)
	if verdicts {
		h.Write(s.vsum[:])
		fmt.Fprintf(h, "\x00%t", s.testing)
	}
	return hex.EncodeToString(h.Sum(nil))
}
