package taskformat

import (
	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
	"path/filepath"
	"testing"
)

// TestMetadataMisspeltKeys: an optional key misspelt in metadata.json is a
// warning with a did-you-mean, at the key; the task loads as it is; a key
// near no known one is the author's own, kept without a word. Before, a
// misspelt optional key passed in silence.
func TestMetadataMisspeltKeys(t *testing.T) {
	for _, tc := range []struct {
		name      string
		extra     string // a key and value added to a valid metadata.json
		line, col int
		msg       string // "" for no warning
	}{
		{"descripton", `"descripton": "adds"`, 6, 3, `unknown key "descripton" is ignored: did you mean "description"?`},
		{"desc", `"desc": "adds"`, 6, 3, `unknown key "desc" is ignored: did you mean "description"?`},
		{"tag", `"tag": ["math"]`, 6, 3, `unknown key "tag" is ignored: did you mean "tags"?`},
		{"another case", `"Tags": []`, 6, 3, `unknown key "Tags" is ignored: did you mean "tags"?`},
		{"an author's own key", `"author": "ada"`, 0, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			meta := "{\n  \"uuid\": \"" + id1 + "\",\n  \"version\": \"1.0.0\",\n  \"label\": \"Add\",\n  \"description\": \"d\",\n  " + tc.extra + "\n}\n"
			writeTree(t, dir, taskFiles(id1, "1.0.0").With("metadata.json", meta))
			s := loadDir(t, dir)
			task, ok := s.Task(id1, "1.0.0")
			if !ok || len(s.Errors()) != 0 {
				t.Fatalf("the task did not load as it is:\n%s", sourcetest.Listing(s))
			}
			if tc.msg == "" {
				if len(task.Warnings) != 0 {
					t.Errorf("got warnings %v, want none", task.Warnings)
				}
				return
			}
			if len(task.Warnings) != 1 {
				t.Fatalf("got warnings %v, want one", task.Warnings)
			}
			w := task.Warnings[0]
			want := filepath.Join(dir, "metadata.json")
			if w.Path != want || w.Line != tc.line || w.Column != tc.col || w.Message() != tc.msg || !w.Warning() || !w.Advice {
				t.Errorf("got %s %v (advice %v), want the advice %s:%d:%d: %s", w.Level(), w, w.Advice, want, tc.line, tc.col, tc.msg)
			}
			// A warning on metadata.json is no test case.
			if names := CaseNames(task); len(names) != 1 || names[0] != "tests/one.json" {
				t.Errorf("got cases %v, want only tests/one.json", names)
			}
		})
	}
}

// TestNameWithoutUUID: upstream's later registry format names a task and
// gives no uuid. The task loads, with a warning, under a uuid derived from
// the name that is the same on every load, in every process: the value
// is pinned here, so that a change of namespace fails.
func TestNameWithoutUUID(t *testing.T) {
	const derived = "9d7f8954-ea01-5ef6-9e31-f066f38d602b"
	got := NameUUID("addition")
	if got != NameUUID("addition") || got == NameUUID("Addition") {
		t.Fatalf("NameUUID is not a function of the name: %s", got)
	}
	for range 2 {
		dir := t.TempDir()
		writeTree(t, dir, taskFiles(id1, "1.0.0").With("metadata.json", `{"name": "addition", "version": "1.0.0", "description": "Adds"}`))
		s := loadDir(t, dir)
		task, ok := s.Task(got, "1.0.0")
		if !ok || len(s.Errors()) != 0 {
			t.Fatalf("the task did not load under %s:\n%s", got, sourcetest.Listing(s))
		}
		if task.Label != "addition" || len(task.Warnings) != 1 || !task.Warnings[0].Advice || task.Warnings[0].Line != 1 {
			t.Errorf("got label %q warnings %v, want addition and the one advice at the name", task.Label, task.Warnings)
		}
	}
	if got != derived {
		t.Errorf("got %s, want %s: the namespace changed, and every task without a uuid would change identity", got, derived)
	}
}
