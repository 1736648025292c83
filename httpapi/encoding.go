package httpapi

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zstd"
	"github.com/ratchet-tasks/ratchet-registry/schema"
)

// minCompressBytes is the smallest answer worth compressing: below it the
// headers and the coder's frame cost about what they save.
const minCompressBytes = 1024

// codings compresses answers. Coders are pooled: a zstd coder holds its
// window and tables, which cost more to make than a small answer does to
// compress.
type codings struct {
	flate, zstd sync.Pool
}

func newCodings() *codings {
	c := &codings{}
	c.flate.New = func() any {
		w, _ := flate.NewWriter(io.Discard, flate.DefaultCompression)
		return w
	}
	c.zstd.New = func() any {
		// One goroutine-free coder per request; a small window keeps a
		// pooled coder light, and JSON repeats itself within much less.
		w, _ := zstd.NewWriter(io.Discard, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20),
			zstd.WithEncoderLevel(zstd.SpeedDefault))
		return w
	}
	return c
}

// pick chooses the content coding of an answer from Accept-Encoding: zstd
// where the client takes it (it compresses JSON as well as gzip's best at
// several times the speed, and decodes faster), else gzip, else none.
func pickCoding(header string) string {
	var gz, zs bool
	for item := range listItems(header) {
		name, refused := splitItem(item)
		switch {
		case refused:
		case strings.EqualFold(name, "zstd"):
			zs = true
		case strings.EqualFold(name, "gzip"), strings.EqualFold(name, "x-gzip"):
			gz = true
		}
	}
	switch {
	case zs:
		return "zstd"
	case gz:
		return "gzip"
	}
	return ""
}

// An answer is compressed piece by piece, so that the chunks of list
// items that the answer shares with the last one (all but the changed
// chunk, after a save) are compressed once and kept with the chunk (see
// schema.Part.Encoded): zstd as one frame per piece, which decoders read as
// one stream; gzip as one member whose deflate stream is the pieces'
// deflate blocks, each piece compressed on its own and flushed to a byte
// boundary, ended by an empty final block and the CRC-32 of the whole.
// (Concatenated gzip members would be simpler, but some clients read only
// the first.) Independent pieces cost a little in size: each starts
// without the window of the one before.

// gzipHeader is a gzip member's header: deflate, no name, no time, OS
// unknown, as compress/gzip writes it.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// finalBlock is an empty, final, stored deflate block.
var finalBlock = []byte{1, 0, 0, 0xff, 0xff}

// compress writes plain in coding to dst as it is compressed, and returns
// the compressed parts too, for the cache. A part that is a kept chunk
// (with the one-byte separator before it) is compressed once and kept
// with it; the parts between are compressed as they come.
func (c *codings) compress(dst io.Writer, coding string, plain []schema.Part) ([]schema.Part, error) {
	var out []schema.Part
	emit := func(b []byte) error {
		out = append(out, schema.Part{Bytes: b})
		_, err := dst.Write(b)
		return err
	}
	var pending []schema.Part // plain parts not yet compressed
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		var buf bytes.Buffer
		buf.Grow(size(pending) / 4)
		err := c.piece(io.MultiWriter(&buf, dst), coding, pending...)
		out = append(out, schema.Part{Bytes: buf.Bytes()})
		pending = pending[:0]
		return err
	}
	crc, n := uint32(0), 0
	if coding == "gzip" {
		if err := emit(gzipHeader); err != nil {
			return nil, err
		}
	}
	for _, p := range plain {
		if coding == "gzip" {
			crc, n = crc32.Update(crc, crc32.IEEETable, p.Bytes), n+len(p.Bytes)
		}
		if !p.Kept() {
			pending = append(pending, p)
			continue
		}
		var sep schema.Part
		if k := len(pending); k > 0 && len(pending[k-1].Bytes) == 1 {
			sep, pending = pending[k-1], pending[:k-1]
		}
		if err := flush(); err != nil {
			return nil, err
		}
		b, err := p.Encoded(coding+string(sep.Bytes), func() ([]byte, error) {
			var buf bytes.Buffer
			buf.Grow(len(p.Bytes) / 4)
			err := c.piece(&buf, coding, sep, p)
			return buf.Bytes(), err
		})
		if err != nil {
			return nil, err
		}
		if err := emit(b); err != nil {
			return nil, err
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if coding == "gzip" {
		trailer := append([]byte(nil), finalBlock...)
		trailer = binary.LittleEndian.AppendUint32(trailer, crc)
		trailer = binary.LittleEndian.AppendUint32(trailer, uint32(n))
		if err := emit(trailer); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// piece compresses parts on their own to dst: a whole zstd frame, or
// deflate blocks flushed to a byte boundary and not final.
func (c *codings) piece(dst io.Writer, coding string, parts ...schema.Part) error {
	switch coding {
	case "gzip":
		w := c.flate.Get().(*flate.Writer)
		defer c.flate.Put(w)
		w.Reset(dst)
		if err := writeParts(w, parts); err != nil {
			return err
		}
		return w.Flush()
	case "zstd":
		w := c.zstd.Get().(*zstd.Encoder)
		defer c.zstd.Put(w)
		w.Reset(dst)
		if err := writeParts(w, parts); err != nil {
			return err
		}
		return w.Close()
	}
	return fmt.Errorf("unknown content coding %q", coding)
}

func writeParts(w io.Writer, parts []schema.Part) error {
	for _, p := range parts {
		if _, err := w.Write(p.Bytes); err != nil {
			return err
		}
	}
	return nil
}

// writeEncoded sends an answer, already compressed in coding ("" for
// none), in its parts.
func writeEncoded(w http.ResponseWriter, mediaType, coding string, body []schema.Part) {
	if coding != "" {
		w.Header().Set("Content-Encoding", coding)
	}
	w.Header().Set("Content-Type", mediaType+"; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(size(body)))
	w.WriteHeader(http.StatusOK)
	for _, p := range body {
		if _, err := w.Write(p.Bytes); err != nil {
			return
		}
	}
}
