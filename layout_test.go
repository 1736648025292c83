package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// module is the import path of this module, which every package of ours
// starts with.
const module = "github.com/ratchet-tasks/ratchet-registry"

// listedPackage is what `go list -json` says of one package.
type listedPackage struct {
	ImportPath string
	Imports    []string // direct
	Deps       []string // every package it imports, directly or not
}

// listPackages runs `go list -deps -json` over the module: our packages and
// everything they import, with each one's direct and indirect imports.
func listPackages(tb testing.TB) map[string]listedPackage {
	tb.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Imports,Deps", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]listedPackage{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			tb.Fatalf("go list output: %v", err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

// under reports whether path is the package prefix or one beneath it.
func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// TestLayout holds the shape that the design gives the packages (issue
// 20): the domain parses nothing, the watcher knows no task, and nothing
// above the sources names one of them. A failure names the package, what
// it imports and, for an indirect import, the path to it.
func TestLayout(t *testing.T) {
	pkgs := listPackages(t)
	ours := func(rel string) listedPackage {
		t.Helper()
		p, ok := pkgs[module+"/"+rel]
		if !ok {
			t.Fatalf("go list has no package %s/%s", module, rel)
		}
		return p
	}
	// via finds one chain of imports from p to dep, for the message.
	via := func(p listedPackage, dep string) string {
		chain := []string{p.ImportPath}
		for cur := p; cur.ImportPath != dep; {
			next := ""
			for _, imp := range cur.Imports {
				if imp == dep || slices.Contains(pkgs[imp].Deps, dep) {
					next = imp
					break
				}
			}
			if next == "" {
				break
			}
			chain = append(chain, next)
			cur = pkgs[next]
		}
		return strings.Join(chain, " -> ")
	}

	t.Run("the domain parses nothing", func(t *testing.T) {
		domain := ours("registry")
		// Not even indirectly: parsers, archives, JavaScript, watching,
		// HTTP, GraphQL, and any package of ours (the domain is the
		// bottom of the program).
		forbidden := []string{
			"github.com/dop251/goja", "github.com/santhosh-tekuri/jsonschema", "gopkg.in/yaml.v3",
			"github.com/graphql-go/graphql", "github.com/go-git/go-git", "github.com/fsnotify/fsnotify",
			"golang.org/x/sys", "archive", "compress", "encoding/xml", "encoding/csv", "go/parser",
			"net/http", "os/exec", "text/template", "html/template",
		}
		// Beyond the standard library, only the model's own values:
		// versions in SemVer order, UUIDs, the persistent maps of a
		// snapshot.
		allowed := []string{"github.com/Masterminds/semver/v3", "github.com/google/uuid", "github.com/benbjohnson/immutable", "golang.org/x/exp/constraints"}
		for _, dep := range domain.Deps {
			switch {
			case slices.ContainsFunc(forbidden, func(f string) bool { return under(dep, f) }):
				t.Errorf("registry imports %s: %s", dep, via(domain, dep))
			case under(dep, module) && dep != domain.ImportPath:
				t.Errorf("registry imports %s, a package of ours: %s", dep, via(domain, dep))
			case strings.Contains(strings.Split(dep, "/")[0], ".") && !under(dep, module) && !slices.Contains(allowed, dep):
				t.Errorf("registry imports %s, outside the standard library and the model's values: %s", dep, via(domain, dep))
			}
		}
		// Directly: no system calls and no files. (log/slog reaches
		// syscall through os, so only a direct import is a sign.)
		// encoding/json is imported for json.RawMessage alone: the
		// domain carries a task's JSON as written, unparsed.
		for _, imp := range domain.Imports {
			switch imp {
			case "syscall", "os", "unsafe", "regexp", "text/scanner":
				t.Errorf("registry imports %s directly", imp)
			}
		}
	})

	t.Run("the watcher knows no task", func(t *testing.T) {
		for _, rel := range []string{"watcher", "watcher/walk"} {
			p := ours(rel)
			for _, dep := range p.Deps {
				if under(dep, module+"/registry") {
					t.Errorf("%s imports %s: %s", rel, dep, via(p, dep))
				}
			}
		}
	})

	// The concrete sources: every package of ours named *source beneath
	// registry, but registry/source, the interface they offer main.
	var sources []string
	for path := range pkgs {
		rel := strings.TrimPrefix(path, module+"/")
		if under(path, module+"/registry") && strings.HasSuffix(rel, "source") && rel != "registry/source" {
			sources = append(sources, rel)
		}
	}
	slices.Sort(sources)
	if len(sources) < 4 {
		t.Fatalf("found the sources %v, want fssource, httpsource, gitsource, ocisource at least", sources)
	}

	t.Run("main is thin", thinMain)

	t.Run("nothing above the sources names one", func(t *testing.T) {
		for _, rel := range []string{"schema", "httpapi", "registry", "registry/source", "registry/runner", "registry/taskformat", "registry/lsp", "watcher"} {
			p := ours(rel)
			for _, dep := range p.Deps {
				for _, s := range sources {
					if under(dep, module+"/"+s) {
						t.Errorf("%s imports the source package %s: %s", rel, dep, via(p, dep))
					}
				}
			}
		}
		// The sources never import one another either.
		for _, rel := range sources {
			p := ours(rel)
			for _, dep := range p.Deps {
				for _, s := range sources {
					if s != rel && under(dep, module+"/"+s) {
						t.Errorf("%s imports the source package %s: %s", rel, dep, via(p, dep))
					}
				}
			}
		}
	})
}

// thinMain holds the root package to what DESIGN.md gives main: the
// command table, flags, configuration and wiring, with what a command does
// in the package that owns it (issue 20).
func thinMain(t *testing.T) {
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = f
	}
	imports := func(f *ast.File) []string {
		var out []string
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			out = append(out, path)
		}
		return out
	}

	// One file names the kinds of source: the registration table. The
	// rest of main reaches a source through it, so that a new kind is its
	// package and one line there.
	t.Run("one file names the sources", func(t *testing.T) {
		var naming []string
		for name, f := range files {
			for _, path := range imports(f) {
				rel := strings.TrimPrefix(path, module+"/")
				if under(path, module+"/registry") && strings.HasSuffix(rel, "source") && rel != "registry/source" {
					naming = append(naming, name+" imports "+rel)
				}
			}
		}
		slices.Sort(naming)
		for _, n := range naming {
			if !strings.HasPrefix(n, "kinds.go ") {
				t.Errorf("%s: only kinds.go, the table of kinds, names a source package", n)
			}
		}
	})

	// No task-format logic: main reads, parses, packs and writes no task
	// file itself, so it imports none of the parsers, archives and
	// formats that doing so takes (encoding/json included: the index
	// and bundles are written by registry/taskformat, the JUnit XML by
	// registry/runner, a version and a UUID are the task format's).
	t.Run("no task format in main", func(t *testing.T) {
		forbidden := []string{"archive", "compress", "encoding/json", "encoding/xml", "encoding/csv", "go/parser", "go/ast",
			"github.com/dop251/goja", "github.com/santhosh-tekuri/jsonschema", "github.com/Masterminds/semver",
			"github.com/google/uuid", "github.com/go-git/go-git", "oras.land/oras-go"}
		for name, f := range files {
			for _, path := range imports(f) {
				if slices.ContainsFunc(forbidden, func(p string) bool { return under(path, p) || strings.HasPrefix(path, p+"/") }) {
					t.Errorf("%s imports %s: what it is used for belongs to the package that owns the concept", name, path)
				}
			}
		}
	})

	// Wiring, not work: a function of main that runs past a screen is a
	// sign that a command's work, or a configuration's special case, has
	// come back to main (before issue 20: check 104 lines, walkConfig
	// 102, runTest 84, runServer 74).
	t.Run("no long function in main", func(t *testing.T) {
		const most = 80
		for name, f := range files {
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok {
					continue
				}
				if n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1; n > most {
					t.Errorf("%s: %s is %d lines, more than %d", name, fn.Name.Name, n, most)
				}
			}
		}
	})
}
