package ocisource

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// orasCLI runs the real oras CLI, pinned in the tools module, in dir, with
// a Docker config folder of its own so that no credentials of the machine
// are read.
func orasCLI(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	bin, err := orasBinary()
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("oras CLI: %v", err)
		}
		tb.Skipf("oras CLI cannot be built here (set CI to make this a failure): %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+tb.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("oras %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// orasBinary builds the CLI once per test binary (`go tool -n` builds it
// into the build cache and names it), so that a failure to build is told
// apart from a failure of oras itself.
var orasBinary = sync.OnceValues(func() (string, error) {
	tools, err := filepath.Abs(filepath.Join("..", "..", "tools", "go.mod"))
	if err != nil {
		return "", err
	}
	out, err := exec.Command("go", "tool", "-modfile="+tools, "-n", "oras").Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		return "", fmt.Errorf("go tool -n oras: %w\n%s", err, stderr)
	}
	return strings.TrimSpace(string(out)), nil
})

// TestOrasPushedArtifactLoads checks that a catalogue published with the
// tools people have loads: `oras push` of task zips, with the zip media
// type or with none (oras then marks a file as a generic layer), beside a
// file that is not a task.
func TestOrasPushedArtifactLoads(t *testing.T) {
	reg := startRegistry(t)
	ref := reg.Addr + "/acme/tasks:v1"
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"add.zip":   taskZip(t, id1, "1.0.0"),
		"greet.zip": taskZip(t, id2, "2.0.0"),
		"README.md": []byte("# tasks\n"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	orasCLI(t, dir, "push", "--plain-http", ref, "add.zip:application/zip", "greet.zip", "README.md:text/markdown")

	f := follow(t, Config{Ref: ref})
	snap, err := f.poll(t)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := versions(snap), []string{"1 1.0.0", "2 2.0.0"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if task, _ := snap.Task(id2, "2.0.0"); !strings.HasSuffix(task.Path, ":greet.zip") {
		t.Errorf("path of a task pushed by oras: got %s, want it to end in :greet.zip", task.Path)
	}
}

// TestPushedArtifactPullsWithOras checks that `oras pull` gives back the
// zips that push published, under their titles, byte for byte.
func TestPushedArtifactPullsWithOras(t *testing.T) {
	reg := startRegistry(t)
	ref := reg.Addr + "/acme/tasks:v1"
	layers := []Layer{layer(t, id1, "1.0.0"), layer(t, id2, "2.0.0-rc.1")}
	push(t, ref, layers...)

	dir := t.TempDir()
	orasCLI(t, dir, "pull", "--plain-http", "-o", "out", ref)
	for _, l := range layers {
		name := l.ID + "-" + l.Version + ".zip"
		got, err := os.ReadFile(filepath.Join(dir, "out", name))
		if err != nil {
			t.Errorf("oras pull: %v", err)
			continue
		}
		if !bytes.Equal(got, l.Zip) {
			t.Errorf("oras pull: %s differs from what was pushed", name)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "out"))
	if len(entries) != len(layers) {
		t.Errorf("oras pull: got %d files, want %d", len(entries), len(layers))
	}
	if out := orasCLI(t, dir, "manifest", "fetch", "--plain-http", ref); !strings.Contains(out, `"artifactType":"`+ArtifactType+`"`) {
		t.Errorf("manifest: got %s, want artifactType %s", out, ArtifactType)
	}
}
