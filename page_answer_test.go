package main

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
)

// TestStatusPageOverAnswerLimit: a task whose twelve tests all throw huge
// errors makes the page's own query larger than server.max_answer_bytes.
// The page still lists every task, with the verdicts, and says why the
// messages are missing, in a real browser against the real program.
func TestStatusPageOverAnswerLimit(t *testing.T) {
	ctx := browser(t)
	dir := t.TempDir()
	registrytest.Write(t, filepath.Join(dir, "ratchet.yaml"), "server:\n  max_answer_bytes: 8000\nregistry:\n  sources:\n    - type: filesystem\n      path: ./tasks\n")
	thrower := registrytest.Task(registrytest.ID1, "1.0.0").With(
		"metadata.json", `{"uuid": "`+registrytest.ID1+`", "version": "1.0.0", "label": "Thrower", "description": "d"}`,
		"main.js", `(function(input) { throw new Error("x".repeat(50000)); })`,
		"tests/one.json", "")
	for i := range 12 {
		thrower = thrower.With(fmt.Sprintf("tests/case%02d.json", i), `{"input": {"a": 1}, "expected_output": {}}`)
	}
	registrytest.WriteTree(t, filepath.Join(dir, "tasks"), registrytest.Merge(thrower.Under("thrower"),
		registrytest.Task(registrytest.ID2, "1.0.0").With("tests/one.json", "").Under("quiet")))
	p := start(t, "--config", filepath.Join(dir, "ratchet.yaml"))
	p.waitReady(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/")); err != nil {
		t.Fatal(err)
	}
	row := `document.querySelector('tr[data-id="` + registrytest.ID1 + `"]')`
	waitText(t, ctx, "both tasks and the failed verdict", has("Thrower")+" && "+has("Task 1.0.0")+" && "+row+" !== null && "+row+".innerText.includes('0/12 passed')")
	waitText(t, ctx, "why the messages are missing", `!document.getElementById('notice').hidden && `+has("Test messages and outputs are not shown")+" && "+has("server.max_answer_bytes"))
	screenshot(t, ctx, "status-page-over-answer-limit.png")
}
