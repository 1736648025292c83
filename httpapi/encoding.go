package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// minCompressBytes is the smallest answer worth compressing: below it the
// headers and the coder's frame cost about what they save.
const minCompressBytes = 1024

// codings compresses answers. Coders are pooled: a zstd coder holds its
// window and tables, which cost more to make than a small answer does to
// compress.
type codings struct {
	gzip, zstd sync.Pool
}

func newCodings() *codings {
	c := &codings{}
	c.gzip.New = func() any {
		w, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
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
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(q, 64); err == nil && f == 0 {
				continue
			}
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "zstd":
			zs = true
		case "gzip", "x-gzip":
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

// compress writes plain in coding to dst as it is compressed, and returns
// the compressed bytes too, for the cache.
func (c *codings) compress(dst io.Writer, coding string, plain [][]byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(size(plain) / 4)
	out := io.MultiWriter(&buf, dst)
	var err error
	switch coding {
	case "gzip":
		w := c.gzip.Get().(*gzip.Writer)
		defer c.gzip.Put(w)
		w.Reset(out)
		err = writeAll(w, plain)
	case "zstd":
		w := c.zstd.Get().(*zstd.Encoder)
		defer c.zstd.Put(w)
		w.Reset(out)
		err = writeAll(w, plain)
	}
	return buf.Bytes(), err
}

func writeAll(w io.WriteCloser, parts [][]byte) error {
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return w.Close()
}

// writeEncoded sends an answer, already compressed in coding ("" for
// none), in its parts.
func writeEncoded(w http.ResponseWriter, mediaType, coding string, body [][]byte) {
	if coding != "" {
		w.Header().Set("Content-Encoding", coding)
	}
	w.Header().Set("Content-Type", mediaType+"; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(size(body)))
	w.WriteHeader(http.StatusOK)
	for _, p := range body {
		if _, err := w.Write(p); err != nil {
			return
		}
	}
}
