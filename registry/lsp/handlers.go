package lsp

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"

	"github.com/ratchet-tasks/ratchet-registry/watcher"
	"github.com/tliron/glsp"
	protocol "github.com/tliron/glsp/protocol_3_16"
)

// maxChanges bounds the content changes of one didChange: each costs a
// copy of the document.
const maxChanges = 1000

// maxEditBytes bounds what the edits of one didChange may cost together:
// each range change scans the document for its place and copies it, so
// a thousand of them on a document at the file limit made 5 GB of work
// out of a message of a few kilobytes, with the server deaf meanwhile.
// An editor sends one change a keystroke, or one a cursor.
const maxEditBytes = 16 * taskformat.MaxFileSize

// protocolHandler is the library's dispatch table, filled with what the
// server answers.
func (s *server) protocolHandler() protocol.Handler {
	return protocol.Handler{
		Initialize:  s.initialize,
		Initialized: func(*glsp.Context, *protocol.InitializedParams) error { return nil },
		Shutdown: func(*glsp.Context) error {
			s.shutdown = true
			return nil
		},
		SetTrace:                        func(*glsp.Context, *protocol.SetTraceParams) error { return nil },
		CancelRequest:                   func(*glsp.Context, *protocol.CancelParams) error { return nil },
		WorkspaceDidChangeConfiguration: func(*glsp.Context, *protocol.DidChangeConfigurationParams) error { return nil },
		WorkspaceDidChangeWatchedFiles:  s.didChangeWatchedFiles,
		TextDocumentDidOpen:             s.didOpen,
		TextDocumentDidChange:           s.didChange,
		TextDocumentDidSave:             s.didSave,
		TextDocumentDidClose:            s.didClose,
		TextDocumentHover: func(_ *glsp.Context, p *protocol.HoverParams) (*protocol.Hover, error) {
			path, ok := uriPath(p.TextDocument.URI)
			if !ok {
				return nil, nil
			}
			return s.ws.hover(path, p.Position), nil
		},
		TextDocumentCompletion: func(_ *glsp.Context, p *protocol.CompletionParams) (any, error) {
			path, ok := uriPath(p.TextDocument.URI)
			if !ok {
				return nil, nil
			}
			return s.ws.complete(path, p.Position), nil
		},
		TextDocumentCodeAction: func(_ *glsp.Context, p *protocol.CodeActionParams) (any, error) {
			path, ok := uriPath(p.TextDocument.URI)
			if !ok {
				return nil, nil
			}
			return s.ws.codeActions(path, p.Context.Diagnostics), nil
		},
		TextDocumentCodeLens: func(_ *glsp.Context, p *protocol.CodeLensParams) ([]protocol.CodeLens, error) {
			path, ok := uriPath(p.TextDocument.URI)
			if !ok {
				return nil, nil
			}
			return s.ws.lenses(path), nil
		},
	}
}

func (s *server) initialize(_ *glsp.Context, p *protocol.InitializeParams) (any, error) {
	var uris []string
	for _, f := range p.WorkspaceFolders {
		uris = append(uris, f.URI)
	}
	if len(uris) == 0 && p.RootURI != nil {
		uris = append(uris, *p.RootURI)
	}
	if len(uris) == 0 && p.RootPath != nil && filepath.IsAbs(*p.RootPath) {
		uris = append(uris, string(pathURI(*p.RootPath)))
	}
	if err := s.ws.setFolders(uris); err != nil {
		return nil, err
	}
	if ws := p.Capabilities.Workspace; ws != nil && ws.CodeLens != nil && ws.CodeLens.RefreshSupport != nil {
		s.refreshLens = *ws.CodeLens.RefreshSupport
	}
	yes := true
	change := protocol.TextDocumentSyncKindIncremental
	version := s.cfg.Version
	return protocol.InitializeResult{
		Capabilities: protocol.ServerCapabilities{
			TextDocumentSync: protocol.TextDocumentSyncOptions{OpenClose: &yes, Change: &change,
				Save: protocol.SaveOptions{IncludeText: new(bool)}},
			HoverProvider:      true,
			CompletionProvider: &protocol.CompletionOptions{TriggerCharacters: []string{"\""}},
			CodeActionProvider: protocol.CodeActionOptions{CodeActionKinds: []protocol.CodeActionKind{protocol.CodeActionKindQuickFix}},
			CodeLensProvider:   &protocol.CodeLensOptions{},
		},
		ServerInfo: &protocol.InitializeResultServerInfo{Name: "ratchet-registry", Version: &version},
	}, nil
}

// open keeps a document's text, within the limits on open documents.
func (s *server) open(uri protocol.DocumentUri, text string, version protocol.Integer) (string, bool) {
	p, ok := uriPath(uri)
	if !ok {
		return "", false
	}
	_, rel, inside := s.ws.folderOf(p)
	if !inside {
		return "", false // the server reads nothing outside the workspace folders
	}
	if depth(rel) > maxDepth {
		s.showMessage(protocol.MessageTypeWarning, fmt.Sprintf(
			"ratchet-registry: %s is checked as saved on disk: it is %d folders deep in its workspace folder, past the limit of %d", filepath.Base(p), depth(rel), maxDepth))
		return "", false
	}
	old := s.ws.docs[p]
	if old == nil && len(s.ws.docs) >= s.cfg.MaxOpen {
		s.showMessage(protocol.MessageTypeWarning, fmt.Sprintf(
			"ratchet-registry: %s is checked as saved on disk: more than %d documents open (the limit)", filepath.Base(p), s.cfg.MaxOpen))
		return "", false
	}
	d := &doc{uri: uri, path: p, version: version}
	d.setText(text)
	var was int64
	if old != nil {
		was = int64(len(old.text))
	}
	if s.ws.openBytes-was+int64(len(d.text)) > s.cfg.MaxOpenBytes {
		s.showMessage(protocol.MessageTypeWarning, fmt.Sprintf(
			"ratchet-registry: %s is checked as saved on disk: the open documents would pass %d bytes (the limit)", filepath.Base(p), s.cfg.MaxOpenBytes))
		if old != nil {
			s.ws.openBytes -= was
			delete(s.ws.docs, p)
		}
		return p, true
	}
	s.ws.openBytes += int64(len(d.text)) - was
	s.ws.docs[p] = d
	if _, ok := s.ws.uris[p]; ok || len(s.ws.uris) < 4*s.cfg.MaxOpen {
		s.ws.uris[p] = uri
	}
	return p, true
}

// setText keeps text, or only its size when it is over the limit for one
// file: the loader reports the limit from the size.
func (d *doc) setText(text string) {
	d.size = int64(len(text))
	if d.size > taskformat.MaxFileSize {
		text = ""
	}
	d.text = text
}

func (s *server) didOpen(_ *glsp.Context, p *protocol.DidOpenTextDocumentParams) error {
	if path, ok := s.open(p.TextDocument.URI, p.TextDocument.Text, p.TextDocument.Version); ok {
		s.changedPath(path, 0)
	}
	return nil
}

func (s *server) didChange(_ *glsp.Context, p *protocol.DidChangeTextDocumentParams) error {
	path, ok := uriPath(p.TextDocument.URI)
	if !ok {
		return nil
	}
	d := s.ws.docs[path]
	if d == nil {
		return nil
	}
	if len(p.ContentChanges) > maxChanges {
		return fmt.Errorf("%d content changes in one didChange, over the limit of %d", len(p.ContentChanges), maxChanges)
	}
	// A document over the limit for one file kept only its size: edits
	// to it cannot be applied, only a whole new text replaces it.
	text, lost := d.text, d.size > int64(len(d.text))
	budget := int64(maxEditBytes)
	for _, c := range p.ContentChanges {
		switch c := c.(type) {
		case protocol.TextDocumentContentChangeEventWhole:
			text, lost = c.Text, false
		case protocol.TextDocumentContentChangeEvent:
			if lost || c.Range == nil {
				continue
			}
			if budget -= int64(len(text) + len(c.Text)); budget < 0 {
				// Its text can no longer be known: the disk's stands in
				// for it until the editor opens it again.
				s.ws.openBytes -= int64(len(d.text))
				delete(s.ws.docs, path)
				s.changedPath(path, 0)
				msg := fmt.Sprintf("%s is checked as saved on disk: the edits of one change of it would cost more than %d bytes (the limit); close it and open it again",
					filepath.Base(path), maxEditBytes)
				s.showMessage(protocol.MessageTypeWarning, "ratchet-registry: "+msg)
				return errors.New(msg)
			}
			from, to := offsetOf(text, c.Range.Start), offsetOf(text, c.Range.End)
			if to < from {
				from, to = to, from
			}
			text = text[:from] + c.Text + text[to:]
			if int64(len(text)) > taskformat.MaxFileSize {
				d.size, lost = int64(len(text)), true
				text = ""
			}
		}
	}
	if lost {
		s.ws.openBytes -= int64(len(d.text))
		d.text, d.version = "", p.TextDocument.Version
		s.changedPath(path, s.cfg.Debounce)
		return nil
	}
	if _, ok := s.open(d.uri, text, p.TextDocument.Version); ok {
		s.changedPath(path, s.cfg.Debounce)
	}
	return nil
}

func (s *server) didSave(_ *glsp.Context, p *protocol.DidSaveTextDocumentParams) error {
	if path, ok := uriPath(p.TextDocument.URI); ok {
		s.changedPath(path, 0)
	}
	return nil
}

func (s *server) didClose(_ *glsp.Context, p *protocol.DidCloseTextDocumentParams) error {
	path, ok := uriPath(p.TextDocument.URI)
	if !ok {
		return nil
	}
	if d, ok := s.ws.docs[path]; ok {
		s.ws.openBytes -= int64(len(d.text))
		delete(s.ws.docs, path)
		s.changedPath(path, 0) // back to the disk's text
	}
	return nil
}

func (s *server) didChangeWatchedFiles(_ *glsp.Context, p *protocol.DidChangeWatchedFilesParams) error {
	for _, c := range p.Changes {
		if path, ok := uriPath(c.URI); ok {
			s.changedPath(path, 0)
		}
	}
	return nil
}

// changedPath has the task that holds path loaded again after d.
func (s *server) changedPath(path string, d time.Duration) {
	f, rel, ok := s.ws.folderOf(path)
	if !ok {
		return
	}
	s.ws.changed(f, within(rel, maxDepth))
	s.schedule(d)
}

// maxDepth bounds how deep below its workspace folder a path that the
// client names is followed: finding the task of a path looks at each
// folder on the way to it, and each look walks the path again, so a path
// 1,500 folders deep cost half a second, and the client sends thousands.
// Deeper paths are taken for their folder at the limit.
const maxDepth = 32

// depth is the folders a slash-separated relative path goes through.
func depth(rel string) int { return strings.Count(rel, "/") }

// within is rel cut to its folder n deep, when it is deeper.
func within(rel string, n int) string {
	i := 0
	for range n + 1 {
		j := strings.IndexByte(rel[i:], '/')
		if j < 0 {
			return rel
		}
		i += j + 1
	}
	return rel[:i-1]
}

// diskChanged takes a batch of changes from a folder's watcher.
func (w *workspace) diskChanged(f *folder, b watcher.Batch) {
	if b.Full {
		w.changed(f, ".")
		return
	}
	for _, p := range b.Paths {
		if rel, err := filepath.Rel(f.abs, p); err == nil && taskformat.Inside(p, f.abs) {
			w.changed(f, filepath.ToSlash(rel))
		}
	}
}

func (s *server) refreshLenses() {
	if s.refreshLens {
		s.request(protocol.ServerWorkspaceCodeLensRefresh, nil)
	}
}
