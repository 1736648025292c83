package ocisource

import (
	"context"
	"strings"
	"testing"
)

func TestPushUploadsOnlyWhatIsMissing(t *testing.T) {
	reg := startRegistry(t)
	ref := reg.Addr + "/acme/tasks:stable"
	a, b, c := layer(t, id1, "1.0.0"), layer(t, id2, "1.0.0"), layer(t, id3, "1.0.0")

	steps := []struct {
		name          string
		layers        []Layer
		wantUploaded  int
		wantPresent   int
		wantSameAsOld bool // the manifest digest is the previous step's
	}{
		{name: "first push", layers: []Layer{a, b}, wantUploaded: 2},
		{name: "one task more", layers: []Layer{a, b, c}, wantUploaded: 1, wantPresent: 2},
		{name: "the same tasks again", layers: []Layer{c, b, a}, wantPresent: 3, wantSameAsOld: true},
		{name: "one task less", layers: []Layer{a, c}, wantPresent: 2},
	}
	var last string
	for _, st := range steps {
		reg.take()
		p := push(t, ref, st.layers...)
		reqs, _ := reg.take()
		if p.Uploaded != st.wantUploaded || p.Present != st.wantPresent {
			t.Errorf("%s: got %d uploaded and %d present, want %d and %d", st.name, p.Uploaded, p.Present, st.wantUploaded, st.wantPresent)
		}
		// The empty config blob of the first push is an upload too.
		uploads := count(reqs, "POST", "/blobs/uploads/")
		if st.name != "first push" && uploads != st.wantUploaded {
			t.Errorf("%s: got %d blob uploads, want %d (requests %v)", st.name, uploads, st.wantUploaded, reqs)
		}
		if same := p.Manifest.Digest.String() == last; same != st.wantSameAsOld {
			t.Errorf("%s: manifest digest %s, previous %s: same is %v, want %v", st.name, p.Manifest.Digest, last, same, st.wantSameAsOld)
		}
		last = p.Manifest.Digest.String()
	}
}

func TestPushRefusesADigest(t *testing.T) {
	reg := startRegistry(t)
	for _, ref := range []string{
		reg.Addr + "/acme/tasks@sha256:" + strings.Repeat("0", 64),
		reg.Addr + "/acme/tasks",
	} {
		_, err := Push(context.Background(), ref, Remote{PlainHTTP: true}, []Layer{layer(t, id1, "1.0.0")})
		if err == nil || !strings.Contains(err.Error(), "name a tag") {
			t.Errorf("push to %s: got %v, want an error asking for a tag", ref, err)
		}
	}
	if reqs, _ := reg.take(); len(reqs) != 0 {
		t.Errorf("got requests %v, want none", reqs)
	}
}
