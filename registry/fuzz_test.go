package registry

import (
	"bytes"
	"testing"
	"testing/fstest"
)

// FuzzParseMetadata feeds arbitrary metadata.json to the loader: it must
// never panic, and must either load or explain itself with a position
// inside the file.
func FuzzParseMetadata(f *testing.F) {
	for _, s := range []string{
		taskFiles(id1, "1.0.0")["metadata.json"],
		`{"uuid": "` + id1 + `", "version": "v1.0.0", "label": "x"}`,
		`{"uuid": 1, "version": null, "label": []}`,
		"{\n\"uuid\": \"\u00e9\u00e9\"",
		`[]`, ``, `{"version": "1.0.0-rc.1+build.5"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{}
		for name, content := range taskFiles(id1, "1.0.0") {
			fsys[name] = &fstest.MapFile{Data: []byte(content)}
		}
		fsys[metadataFile] = &fstest.MapFile{Data: data}
		task, errs := loadTask(loadInput{fsys: fsys, source: "fuzz", root: ".", display: "t", sep: "/"})
		if (task == nil) == (len(errs) == 0) {
			t.Fatalf("got task %v and errors %v: want exactly one", task, errs)
		}
		for _, e := range errs {
			if e.Path != "t/metadata.json" {
				t.Fatalf("got error on %s, want metadata.json: %v", e.Path, e)
			}
			if e.Line > bytes.Count(data, []byte{'\n'})+1 {
				t.Fatalf("line %d is past the end of the file: %v", e.Line, e)
			}
		}
		if task != nil && (task.ID == "" || task.Version == "" || task.semver == nil) {
			t.Fatalf("loaded a task without identity: %+v", task)
		}
	})
}

// FuzzOpenZip feeds arbitrary bytes as a task archive: no panic, no hang,
// and any archive accepted must have passed every entry check.
func FuzzOpenZip(f *testing.F) {
	f.Add(zipBytes(f, taskFiles(id1, "1.0.0")))
	f.Add(zipBytes(f, taskFiles(id1, "1.0.0").under("x/y")))
	f.Add(rawZip(f, zipEntry{"../evil", []byte("x")}, zipEntry{"metadata.json", nil}))
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys, _, err := openZip(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		task, errs := loadTask(loadInput{fsys: fsys, source: "fuzz", root: ".", display: "t.zip", sep: "!/", maxFile: MaxFileSize})
		if (task == nil) == (len(errs) == 0) {
			t.Fatalf("got task %v and errors %v: want exactly one", task, errs)
		}
	})
}
