package lsp

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/google/uuid"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	protocol "github.com/tliron/glsp/protocol_3_16"
)

// hover describes the key under the place from the embedded schemas; on
// uuid, it also says which other task versions use the same uuid.
func (w *workspace) hover(p string, pos protocol.Position) *protocol.Hover {
	schema, r, text, off, sp, ok := w.place(p, pos)
	if !ok {
		return nil
	}
	key, from, to := sp.key, sp.from, sp.to
	if !sp.onKey {
		// On a value of metadata.json's top level: its key is the one
		// before it on the way there.
		if !(len(sp.path) == 0 && filepath.Base(p) == "metadata.json") {
			return nil
		}
		k, f, t, ok := keyOfValue(text, off)
		if !ok {
			return nil
		}
		key, from, to = k, f, t
	}
	desc := description(schema, at(schema, append(append([]string(nil), sp.path...), key)))
	if desc == "" {
		return nil
	}
	md := fmt.Sprintf("**%s**: %s", key, desc)
	if key == "uuid" && len(sp.path) == 0 && filepath.Base(p) == "metadata.json" {
		md += "\n\n" + w.uuidUse(r, text)
	}
	rng := rangeOf(text, from, to)
	return &protocol.Hover{Contents: protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: md}, Range: &rng}
}

// place is what hover and completion start from: the schema of the file
// at p, its root, its text, the offset of pos and what lies there.
func (w *workspace) place(p string, pos protocol.Position) (schema map[string]any, r *root, text string, off int, sp spot, ok bool) {
	if schema = w.s.schemas.forFile(p); schema == nil {
		return nil, nil, "", 0, spot{}, false
	}
	r, _, _ = w.rootOf(p)
	text = w.text(r, p)
	off = offsetOf(text, pos)
	sp = locate(text, off)
	return schema, r, text, off, sp, !sp.deep
}

// keyOfValue finds the top-level key whose value holds off, in a well
// formed document.
func keyOfValue(text string, off int) (string, int, int, bool) {
	for _, k := range []string{"uuid", "version", "label", "name", "description", "tags"} {
		from, to, ok := valueSpan(text, k)
		if ok && off >= from && off <= to {
			return k, from, to, true
		}
	}
	return "", 0, 0, false
}

// uuidUse says which other task versions in the workspace hold the uuid
// written in a metadata.json.
func (w *workspace) uuidUse(self *root, text string) string {
	from, to, ok := valueSpan(text, "uuid")
	if !ok {
		return ""
	}
	s, err := strconv.Unquote(text[from:to])
	if err != nil {
		return ""
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return "Not a valid UUID."
	}
	var others []string
	for o := range w.ids[id.String()] {
		if o != self {
			rel, _ := filepath.Rel(o.f.abs, o.dir)
			others = append(others, fmt.Sprintf("`%s` (version %s)", filepath.ToSlash(rel), o.res.Task.Version))
		}
	}
	if len(others) == 0 {
		return "No other task in the workspace uses this uuid."
	}
	sort.Strings(others)
	const shown = 20
	more := ""
	if len(others) > shown {
		more = fmt.Sprintf("\n- and %d more", len(others)-shown)
		others = others[:shown]
	}
	return fmt.Sprintf("Also used by %d other task version(s): the versions of one task share it.\n- %s%s",
		len(others), strings.Join(others, "\n- "), more)
}

// complete offers the keys that the object at the place may hold, with
// their descriptions.
func (w *workspace) complete(p string, pos protocol.Position) []protocol.CompletionItem {
	schema, _, text, _, sp, ok := w.place(p, pos)
	if !ok || !sp.keyPlace && !sp.onKey {
		return nil
	}
	kind := protocol.CompletionItemKindProperty
	var items []protocol.CompletionItem
	for _, prop := range properties(schema, at(schema, sp.path)) {
		item := protocol.CompletionItem{Label: prop.name, Kind: &kind}
		if prop.description != "" {
			item.Documentation = protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: prop.description}
			d := prop.description
			item.Detail = &d
		}
		if sp.onKey {
			// Inside the quotes being typed: replace the key's text.
			end := sp.to
			if end > sp.from+1 && text[end-1] == '"' {
				end--
			}
			item.TextEdit = protocol.TextEdit{Range: rangeOf(text, sp.from+1, end), NewText: prop.name}
		} else {
			insert := strconv.Quote(prop.name) + ": "
			item.InsertText = &insert
		}
		items = append(items, item)
	}
	return items
}

// didYouMean reads the suggestion the loader puts in a message about a
// misspelt key.
var didYouMean = regexp.MustCompile(`did you mean ("(?:[^"\\]|\\.)*")\?`)

// codeActions are the quick fixes for the diagnostics the client sends
// back: the did-you-mean of a misspelt key; a new uuid, or the next
// version, for a task version found twice.
func (w *workspace) codeActions(p string, diags []protocol.Diagnostic) []protocol.CodeAction {
	r, _, _ := w.rootOf(p)
	text := w.text(r, p)
	uri := w.uri(p)
	quickfix := protocol.CodeActionKindQuickFix
	edit := func(title string, d protocol.Diagnostic, rng protocol.Range, newText string, preferred bool) protocol.CodeAction {
		a := protocol.CodeAction{Title: title, Kind: &quickfix, Diagnostics: []protocol.Diagnostic{d},
			Edit: &protocol.WorkspaceEdit{Changes: map[protocol.DocumentUri][]protocol.TextEdit{uri: {{Range: rng, NewText: newText}}}}}
		if preferred {
			a.IsPreferred = &preferred
		}
		return a
	}
	var out []protocol.CodeAction
	if len(diags) > 100 {
		diags = diags[:100] // a client sends back what it was sent; more is not ours
	}
	for _, d := range diags {
		if d.Source == nil || *d.Source != diagSource {
			continue
		}
		if m := didYouMean.FindStringSubmatch(d.Message); m != nil {
			if want, err := strconv.Unquote(m[1]); err == nil {
				from := offsetOf(text, d.Range.Start)
				if from < len(text) && text[from] == '"' {
					rng := rangeOf(text, from, tokenEnd(text, from))
					out = append(out, edit(fmt.Sprintf("Change to %q", want), d, rng, strconv.Quote(want), true))
				}
			}
		}
		// The code is not read back: the library's IntegerOrString cannot
		// decode one. The conflict is known here; its message names it.
		if r == nil {
			continue
		}
		if c, ok := w.conflict(r); ok && d.Message == c.Message() && filepath.Base(p) == "metadata.json" {
			if from, to, ok := valueSpan(text, "uuid"); ok {
				out = append(out, edit("Use a new uuid", d, rangeOf(text, from, to), strconv.Quote(uuid.NewString()), false))
			}
			if next, ok := w.nextVersion(r); ok {
				if from, to, ok := valueSpan(text, "version"); ok {
					out = append(out, edit("Make it the next version ("+next+")", d, rangeOf(text, from, to), strconv.Quote(next), false))
				}
			}
		}
	}
	return out
}

// nextVersion is the version after the highest that any copy of r's task
// holds: its patch raised, or the release of the highest pre-release.
func (w *workspace) nextVersion(r *root) (string, bool) {
	if r == nil || r.res.Task == nil {
		return "", false
	}
	var highest *semver.Version
	for o := range w.ids[r.res.Task.ID] {
		v, err := semver.StrictNewVersion(o.res.Task.Version)
		if err == nil && (highest == nil || v.GreaterThan(highest)) {
			highest = v
		}
	}
	if highest == nil {
		return "", false
	}
	return highest.IncPatch().String(), true
}

// lenses are the code lenses of a test file: "passed in 3 ms" on a case
// that passed.
func (w *workspace) lenses(p string) []protocol.CodeLens {
	r, name, ok := w.rootOf(p)
	if !ok || r.verdict == nil {
		return nil
	}
	out := []protocol.CodeLens{}
	for i, c := range r.verdict.cases {
		res := r.verdict.results[i]
		if c.File != name || res.Status != registry.CasePassed {
			continue
		}
		out = append(out, protocol.CodeLens{Command: &protocol.Command{Title: passedTitle(res), Command: ""}})
	}
	return out
}
