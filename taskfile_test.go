package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTaskfileFuzzesEveryTarget: `task fuzz` is how the fuzz targets run
// (CI only replays their seed corpora), so a target missing from it is
// never fuzzed at all; this happened once when a package moved.
func TestTaskfileFuzzesEveryTarget(t *testing.T) {
	taskfile, err := os.ReadFile("Taskfile.yml")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile(`go test (\./\S*) -run '\^\$' -fuzz '\^(Fuzz\w+)\$'`).FindAllStringSubmatch(string(taskfile), -1) {
		listed[m[1]+" "+m[2]] = true
	}
	decl := regexp.MustCompile(`(?m)^func (Fuzz\w+)\(f \*testing\.F\)`)
	found := 0
	err = filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range decl.FindAllStringSubmatch(string(src), -1) {
			found++
			key := "./" + filepath.ToSlash(filepath.Dir(path)) + " " + m[1]
			if !listed[key] {
				t.Errorf("%s: %s is not in Taskfile.yml's fuzz task (want a line `go test %s -run '^$' -fuzz '^%s$' ...`)",
					path, m[1], strings.Fields(key)[0], m[1])
			}
			delete(listed, key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Fatal("found no fuzz targets: the walk is wrong")
	}
	for key := range listed {
		t.Errorf("Taskfile.yml fuzzes %s, which no test file declares", key)
	}
}
