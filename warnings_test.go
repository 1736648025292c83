package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestWarningsServed checks that problems in test files reach GraphQL as
// warnings on a task that is served, and not as load errors.
func TestWarningsServed(t *testing.T) {
	p := start(t, "--watch", "off", "testdata/warnings")
	p.waitReady(t)
	data := p.query(t, `{ tasks { id warnings { severity path line column message } } loadErrors { path } }`)
	if errs := data["loadErrors"].([]any); len(errs) != 0 {
		t.Errorf("got load errors %v, want none", errs)
	}
	tasks := data["tasks"].([]any)
	if len(tasks) != 1 {
		t.Fatalf("got tasks %v, want the one task served", tasks)
	}
	var got []string
	for _, w := range tasks[0].(map[string]any)["warnings"].([]any) {
		w := w.(map[string]any)
		path := w["path"].(string)
		got = append(got, fmt.Sprintf("%s %s:%v:%v", w["severity"], path[strings.Index(path, "tests/"):], w["line"], w["column"]))
	}
	want := "WARNING tests/camel.json:3:3 WARNING tests/string-input.json:2:19 WARNING tests/syntax.json:2:30"
	if strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
}
