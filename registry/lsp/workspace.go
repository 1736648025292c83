package lsp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/watcher/walk"
	protocol "github.com/tliron/glsp/protocol_3_16"
)

// workspace is every task under the workspace folders, loaded with the
// open documents laid over the disk. Only the server's loop touches it.
type workspace struct {
	s       *server
	folders []*folder
	docs    map[string]*doc // by absolute path
	// uris keeps the client's spelling of each path it opened, so that a
	// file's diagnostics go to the URI the editor knows it by, open or not.
	uris      map[string]protocol.DocumentUri
	openBytes int64
	ids       map[string]map[*root]bool // uuid to the roots whose task has it
	seq       int64                     // order in which roots were first found, which decides conflicts
	pending   map[*folder]map[string]bool
}

// folder is one workspace folder, read as a filesystem source reads its
// path: symlinks may not lead outside it.
type folder struct {
	abs    string
	within string // abs with its symlinks resolved
	order  int
	roots  map[string]*root // by root key
}

// root is one task root: a folder holding a metadata.json, or a .zip.
type root struct {
	f         *folder
	key       string
	dir       string // absolute path of the folder or the zip
	zip       bool
	seq       int64
	res       registry.RootResult
	gen       atomic.Int64 // grows with each load; a test run of an older one is stale
	verdict   *verdict
	running   string            // TestDigest of the run in flight
	published map[string]string // path to URI of the files whose last diagnostics were not empty
	removed   bool
	indexed   string             // the uuid it is indexed under in workspace.ids; "" for none
	stopRun   context.CancelFunc // ends the wait for a worker of the run in flight
}

// doc is an open document.
type doc struct {
	uri     protocol.DocumentUri
	path    string
	text    string
	size    int64 // more than len(text) when over the limit for one file: the text was dropped
	version protocol.Integer
}

func newWorkspace(s *server) *workspace {
	return &workspace{s: s, docs: map[string]*doc{}, uris: map[string]protocol.DocumentUri{}, ids: map[string]map[*root]bool{}, pending: map[*folder]map[string]bool{}}
}

// maxURI bounds the length of a URI the server takes: a path is at most
// 4 KiB (PATH_MAX), percent-encoded three times that. The client's
// spelling of a URI is kept, for thousands of files, and sent back with
// every diagnostic of its file: unbounded, a URI of megabytes (a query
// string or fragment that names the same path) made each of them a copy.
const maxURI = 16 << 10

// uriPath turns a file: URI into a clean absolute path.
func uriPath(uri string) (string, bool) {
	if len(uri) > maxURI {
		return "", false
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" || (u.Host != "" && u.Host != "localhost") {
		return "", false
	}
	p := u.Path
	if p == "" || !filepath.IsAbs(p) || strings.ContainsRune(p, 0) {
		return "", false
	}
	return filepath.Clean(p), true
}

// pathURI is the file: URI of an absolute path.
func pathURI(p string) protocol.DocumentUri {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String()
}

// uri is the URI to name path by: the client's own spelling where it
// opened the file, else file: and the path.
func (w *workspace) uri(p string) protocol.DocumentUri {
	if u, ok := w.uris[p]; ok {
		return u
	}
	return pathURI(p)
}

// setFolders takes the workspace folders of initialize.
func (w *workspace) setFolders(uris []string) error {
	w.folders = nil // an initialize refused for its folders may be sent again
	seen := map[string]bool{}
	for _, u := range uris {
		p, ok := uriPath(u)
		if !ok {
			w.s.log.Warn("workspace folder ignored: not a file: URI of an absolute path", "uri", truncate(u, 200))
			continue
		}
		if seen[p] {
			continue
		}
		if len(w.folders) == w.s.cfg.MaxFolders {
			return fmt.Errorf("more than %d workspace folders (the limit)", w.s.cfg.MaxFolders)
		}
		seen[p] = true
		w.folders = append(w.folders, &folder{abs: p, within: p, order: len(w.folders), roots: map[string]*root{}})
	}
	return nil
}

// folderOf finds the workspace folder holding p and p's key in it; the
// innermost when folders nest.
func (w *workspace) folderOf(p string) (*folder, string, bool) {
	var best *folder
	for _, f := range w.folders {
		if taskformat.Inside(p, f.abs) && (best == nil || len(f.abs) > len(best.abs)) {
			best = f
		}
	}
	if best == nil {
		return nil, "", false
	}
	rel, err := filepath.Rel(best.abs, p)
	if err != nil {
		return nil, "", false
	}
	return best, filepath.ToSlash(rel), true
}

// rootOf finds the loaded root that holds p, and p's name in it.
func (w *workspace) rootOf(p string) (*root, string, bool) {
	f, rel, ok := w.folderOf(p)
	if !ok {
		return nil, "", false
	}
	for a := rel; ; a = path.Dir(a) {
		if r, ok := f.roots[a]; ok {
			name, _ := filepath.Rel(r.dir, p)
			return r, filepath.ToSlash(name), true
		}
		if a == "." {
			return nil, "", false
		}
	}
}

// load reads every folder once, at the start of the session, and starts
// following the disk.
func (w *workspace) load() {
	// Changes from a little before the load on are sent by the watcher
	// once it follows them, as the filesystem source has it: file times
	// may be kept to the second (FAT: two).
	since := time.Now().Add(-2 * time.Second)
	for _, f := range w.folders {
		if real, err := filepath.EvalSymlinks(f.abs); err == nil {
			f.within = real
		}
		w.update(w.rediscover(f, "."))
	}
	w.s.watch(w.folders, since)
}

// maxPending bounds the changed paths of a folder kept for the next flush:
// past it, the whole folder is read again, which costs less than finding
// the root of each (a client may list any number of paths).
const maxPending = 10000

// changed notes that rel in f changed, to be read at the next flush.
func (w *workspace) changed(f *folder, rel string) {
	p := w.pending[f]
	switch {
	case p == nil:
		p = map[string]bool{}
		w.pending[f] = p
	case p["."]:
		return // the whole folder is read again anyway
	case len(p) >= maxPending:
		clear(p)
		rel = "."
	}
	p[rel] = true
}

// flush loads again what changed since the last flush.
func (w *workspace) flush() {
	pending := w.pending
	w.pending = map[*folder]map[string]bool{}
	var all loads
	for _, f := range w.folders {
		rels := pending[f]
		if len(rels) == 0 {
			continue
		}
		scopes := make([]string, 0, len(rels))
		for rel := range rels {
			scopes = append(scopes, w.scope(f, rel))
		}
		for _, sc := range walk.Outermost(scopes) {
			l := w.rediscover(f, sc)
			all.loaded = append(all.loaded, l.loaded...)
			all.removed = append(all.removed, l.removed...)
		}
	}
	w.update(all)
}

// scope is the part of f to read again for a change at rel: the outermost
// task root that holds it, else rel itself, as the filesystem source does.
func (w *workspace) scope(f *folder, rel string) string {
	best := rel
	fsys := w.fsys(f)
	for a := rel; ; a = path.Dir(a) {
		if _, ok := f.roots[a]; ok || isRoot(fsys, a) {
			best = a
		}
		if a == "." {
			return best
		}
	}
}

// loads are the roots one step loaded again, and those it found gone.
type loads struct{ loaded, removed []*root }

// rediscover finds the task roots at or under key, loads each, and lists
// the known ones that are gone. Its cost follows key, not the folder: a
// folder removed costs the roots it held, not a walk of its parent.
func (w *workspace) rediscover(f *folder, key string) loads { return w.discover(f, key, false) }

// settle reads f's roots again once its watcher follows every change:
// a task folder removed or added while the watches were being placed is
// seen by no event. Only roots that came or went are loaded; what changed
// inside a task meanwhile the watcher reports, by change time.
func (w *workspace) settle(f *folder) { w.update(w.discover(f, ".", true)) }

// discover finds the roots at or under key and lists the known ones that
// are gone; it loads every root found, or with onlyNew those not known.
func (w *workspace) discover(f *folder, key string, onlyNew bool) loads {
	fsys := w.fsys(f)
	var found []string
	if _, err := fs.Stat(fsys, key); !errors.Is(err, fs.ErrNotExist) {
		found = discover(fsys, key) // gone, it holds no root: those known beneath it go
	}
	now := make(map[string]bool, len(found))
	var out loads
	for _, k := range found {
		now[k] = true
		r, ok := f.roots[k]
		if ok && onlyNew {
			continue
		}
		if !ok {
			w.seq++
			r = &root{f: f, key: k, dir: filepath.Join(f.abs, filepath.FromSlash(k)), zip: taskformat.IsZip(k), seq: w.seq}
			f.roots[k] = r
		}
		out.loaded = append(out.loaded, r)
	}
	for k, r := range f.roots {
		if !now[k] && (key == "." || k == key || strings.HasPrefix(k, key+"/")) {
			delete(f.roots, k)
			r.removed = true
			out.removed = append(out.removed, r)
		}
	}
	w.loadAll(out.loaded)
	return out
}

// loadAll loads roots on every core. The open documents under each are
// gathered first, on the loop's goroutine, which owns them.
func (w *workspace) loadAll(roots []*root) {
	files := make([]map[string]overlayFile, len(roots))
	for i, r := range roots {
		files[i] = w.docsUnder(r.dir)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(roots)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(roots) {
					return
				}
				r := roots[i]
				r.res = loadRoot(w.s.loader, r.f.abs, r.f.order, r.key, r.dir, r.zip, r.f.within, files[i])
			}
		})
	}
	wg.Wait()
}

// docsUnder is the open documents beneath dir, by slash-separated name.
func (w *workspace) docsUnder(dir string) map[string]overlayFile {
	var out map[string]overlayFile
	for p, d := range w.docs {
		if p == dir || !taskformat.Inside(p, dir) {
			continue
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			continue
		}
		if out == nil {
			out = map[string]overlayFile{}
		}
		out[filepath.ToSlash(rel)] = overlayFile{text: d.text, size: d.size}
	}
	return out
}

// fsys is folder f with every open document beneath it laid over.
func (w *workspace) fsys(f *folder) fs.FS {
	base := confined(f.abs, f.within)
	files := w.docsUnder(f.abs)
	if len(files) == 0 {
		return base
	}
	return overlay{base: base, files: files}
}

// update folds a step's loads into the index of uuids, and publishes the
// diagnostics of every root whose problems it may have changed: the roots
// loaded, and those that share an identity with them (a conflict comes and
// goes with the other copy). Open tasks' tests run again.
func (w *workspace) update(l loads) {
	touched := map[string]bool{} // uuids whose copies may have met or parted
	republish := map[*root]bool{}
	for _, r := range l.removed {
		w.unindex(r, touched)
		r.stale()
		republish[r] = true
	}
	for _, r := range l.loaded {
		w.unindex(r, touched)
		r.stale()
		if t := r.res.Task; t != nil {
			if w.ids[t.ID] == nil {
				w.ids[t.ID] = map[*root]bool{}
			}
			w.ids[t.ID][r] = true
			r.indexed = t.ID
			touched[t.ID] = true
			if r.verdict != nil && r.verdict.digest != t.TestDigest {
				r.verdict = nil
			}
		} else {
			r.verdict = nil
		}
		republish[r] = true
	}
	for id := range touched {
		for o := range w.ids[id] {
			republish[o] = true
		}
	}
	ordered := make([]*root, 0, len(republish))
	for r := range republish {
		ordered = append(ordered, r)
	}
	sort.Slice(ordered, func(i, j int) bool { return ordered[i].dir < ordered[j].dir })
	for _, r := range ordered {
		w.publish(r)
	}
	for _, r := range l.loaded {
		w.test(r)
	}
}

// stale makes the test run of r in flight stale: it starts no more cases
// and no longer waits for a worker.
func (r *root) stale() {
	r.gen.Add(1)
	if r.stopRun != nil {
		r.stopRun()
		r.stopRun = nil
	}
}

// unindex drops what r served from the index, noting its uuid.
func (w *workspace) unindex(r *root, touched map[string]bool) {
	if r.indexed == "" {
		return
	}
	set := w.ids[r.indexed]
	delete(set, r)
	if len(set) == 0 {
		delete(w.ids, r.indexed)
	}
	touched[r.indexed] = true
	r.indexed = ""
}

// conflict is the Conflict r's task is the losing copy of, if any: copies
// of one uuid and version are ordered as a filesystem source orders them
// (folders in order, a folder before an archive, then the order found).
func (w *workspace) conflict(r *root) (registry.Conflict, bool) {
	t := r.res.Task
	if t == nil {
		return registry.Conflict{}, false
	}
	var first *root
	for o := range w.ids[t.ID] {
		if o.res.Task.Version != t.Version {
			continue
		}
		if first == nil || before(o, first) {
			first = o
		}
	}
	if first == nil || first == r {
		return registry.Conflict{}, false
	}
	return registry.Conflict{ID: t.ID, Version: t.Version, Path: t.Path, Winner: first.res.Task.Path}, true
}

func before(a, b *root) bool {
	if a.f.order != b.f.order {
		return a.f.order < b.f.order
	}
	if a.zip != b.zip {
		return !a.zip
	}
	return a.seq < b.seq
}

// hasOpenDoc reports whether a document under r is open in the editor.
func (w *workspace) hasOpenDoc(r *root) bool {
	for p := range w.docs {
		if taskformat.Inside(p, r.dir) {
			return true
		}
	}
	return false
}

// text is the text of a file as the editor or the disk has it now.
func (w *workspace) text(r *root, p string) string {
	if d, ok := w.docs[p]; ok {
		return d.text
	}
	if r == nil || r.zip {
		return ""
	}
	rel, err := filepath.Rel(r.dir, p)
	if err != nil {
		return ""
	}
	return readText(r.dir, r.f.within, filepath.ToSlash(rel))
}
