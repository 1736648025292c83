package httpapi

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ratchet-tasks/ratchet-registry/schema"
)

// TestCompressedChunks: an answer made of kept chunks of tasks goes out
// compressed piece by piece, as one stream that Go's decoders and curl
// read back to the answer: gzip as a single member (Go reads it with
// multistream off; curl reads only a first member), zstd as frames. After
// a save, the next compressed answer is still the answer, made again
// only of the pieces that changed (the changed chunk and the few bytes
// around the lists), and its new ETag holds across encodings.
func TestCompressedChunks(t *testing.T) {
	ts, save := syntheticRegistry(t, 3000)
	h := serve(ts)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u := srv.URL + "/graphql?query=" + url.QueryEscape(tasksQuery)
	get := func(coding, etag string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Accept-Encoding", coding)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		// The transport would ask for gzip and decode it itself: the
		// test reads the stream as it was sent.
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	decoders := map[string]func(io.Reader) (io.Reader, error){
		"gzip": func(r io.Reader) (io.Reader, error) {
			z, err := gzip.NewReader(r)
			if err == nil {
				z.Multistream(false)
			}
			return z, err
		},
		"zstd": func(r io.Reader) (io.Reader, error) {
			d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
			t.Cleanup(func() {
				if d != nil {
					d.Close()
				}
			})
			return d, err
		},
	}
	curl, _ := exec.LookPath("curl")
	if curl == "" {
		t.Log("curl not found in PATH: its decoders are not tried")
	}
	forms := map[string][]schema.Part{}
	for round, step := range []string{"cold", "after a save"} {
		if round > 0 {
			ts.reg.Apply(save(5, "Saved"))
		}
		plain := get("identity", "")
		want, _ := io.ReadAll(plain.Body)
		etag := plain.Header.Get("ETag")
		for coding, decode := range decoders {
			resp := get(coding, "")
			if got := resp.Header.Get("Content-Encoding"); got != coding {
				t.Fatalf("%s, %s: got Content-Encoding %q", step, coding, got)
			}
			if got := resp.Header.Get("ETag"); got != etag {
				t.Errorf("%s, %s: got ETag %s, want %s as identity's", step, coding, got, etag)
			}
			sent, _ := io.ReadAll(resp.Body)
			r, err := decode(bytes.NewReader(sent))
			if err != nil {
				t.Fatalf("%s, %s: %v", step, coding, err)
			}
			if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s, %s: Go's decoder read %d bytes (%v), want the %d of the answer", step, coding, len(got), err, len(want))
			}
			if curl != "" {
				got, err := exec.Command(curl, "-s", "--compressed", "-H", "Accept-Encoding: "+coding, u).Output()
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s, %s: curl read %d bytes (%v), want the %d of the answer", step, coding, len(got), err, len(want))
				}
			}
			for other := range decoders {
				if resp := get(other, etag); resp.StatusCode != http.StatusNotModified {
					t.Errorf("%s: the ETag of %s sent with Accept-Encoding %s: got %d, want 304", step, coding, other, resp.StatusCode)
				}
			}
			// What the cache keeps is what went out, piece by piece.
			kept := compressedForm(t, h, coding, sent)
			if len(kept) < 10 {
				t.Fatalf("%s, %s: the answer went out in %d pieces, want one per chunk of about 256 tasks", step, coding, len(kept))
			}
			if round > 0 {
				if fresh := freshParts(forms[coding], kept); fresh > 4 {
					t.Errorf("%s, %s: %d of %d pieces compressed again, want the changed chunk and the few bytes around it", step, coding, fresh, len(kept))
				}
			}
			forms[coding] = kept
		}
	}
}

// compressedForm finds the answer's compressed form in the cache, by the
// bytes sent.
func compressedForm(tb testing.TB, h *Server, coding string, sent []byte) []schema.Part {
	tb.Helper()
	var found []schema.Part
	h.gql.cache.lru.Each(func(_ string, f forms) bool {
		if form := f[formOf(coding)]; form != nil && bytes.Equal(joined(form), sent) {
			found = form
		}
		return found == nil
	})
	if found == nil {
		tb.Fatalf("the %s answer sent is not kept", coding)
	}
	return found
}

func joined(parts []schema.Part) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p.Bytes...)
	}
	return out
}

// freshParts counts the parts of after that are not parts of before, the
// very same bytes in memory.
func freshParts(before, after []schema.Part) int {
	old := map[*byte]bool{}
	for _, p := range before {
		old[&p.Bytes[0]] = true
	}
	n := 0
	for _, p := range after {
		if !old[&p.Bytes[0]] {
			n++
		}
	}
	return n
}
