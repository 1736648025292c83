package gitsource

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// packOf writes a pack by hand: the objects a hostile server would send.
type packObject struct {
	typ  plumbing.ObjectType
	size int64  // as the header says
	base []byte // REF_DELTA: the base's hash
	data []byte // deflated as it is
}

func packOf(tb testing.TB, objs ...packObject) []byte {
	tb.Helper()
	var b bytes.Buffer
	b.WriteString("PACK")
	binary.Write(&b, binary.BigEndian, uint32(2))
	binary.Write(&b, binary.BigEndian, uint32(len(objs)))
	for _, o := range objs {
		size := o.size
		c := byte(o.typ)<<4 | byte(size&0x0f)
		size >>= 4
		for size > 0 {
			b.WriteByte(c | 0x80)
			c = byte(size & 0x7f)
			size >>= 7
		}
		b.WriteByte(c)
		b.Write(o.base)
		zw := zlib.NewWriter(&b)
		zw.Write(o.data)
		zw.Close()
	}
	sum := sha1.Sum(b.Bytes())
	b.Write(sum[:])
	return b.Bytes()
}

// varint is a delta header's size.
func varint(n int64) []byte {
	var out []byte
	for {
		c := byte(n & 0x7f)
		n >>= 7
		if n == 0 {
			return append(out, c)
		}
		out = append(out, c|0x80)
	}
}

func TestCheckPack(t *testing.T) {
	blob := []byte("a")
	baseHash := plumbing.ComputeHash(plumbing.BlobObject, blob)
	delta := func(target int64) packObject {
		d := append(varint(1), varint(target)...)
		d = append(d, 0x01, 'b') // insert one byte: enough to be a delta
		return packObject{typ: plumbing.REFDeltaObject, size: int64(len(d)), base: baseHash[:], data: d}
	}
	small := packObject{typ: plumbing.BlobObject, size: 1, data: blob}
	for _, tc := range []struct {
		name string
		pack []byte
		err  string
	}{
		{"ordinary", packOf(t, small, delta(1)), ""},
		{"a blob that says it is huge", packOf(t, packObject{typ: plumbing.BlobObject, size: 1 << 40, data: blob}), "an object inflates to 1099511627776 bytes"},
		{"a delta that builds a huge object", packOf(t, small, delta(1<<30)), "an object inflates to 1073741824 bytes"},
		{"many objects just under the cap", packOf(t, small, delta(maxObject), delta(maxObject), delta(maxObject), delta(maxObject), delta(maxObject), delta(maxObject)), "inflate to over"},
		{"not a pack", []byte("PACK but not really"), "pack:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkPack(bytes.NewReader(tc.pack))
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("got %v, want no error", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("got %v, want %q", err, tc.err)
			case tc.err != "" && tc.err != "pack:" && !errors.Is(err, errPackTooBig):
				t.Fatalf("got %v, want errPackTooBig", err)
			}
		})
	}
}
