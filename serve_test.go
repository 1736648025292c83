package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ratchet-tasks/ratchet-registry/watcher/watchertest"
)

const (
	addID   = "6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
	greetID = "2b7e9c4d-5a6f-4b1c-9d2e-8f7a6b5c4d3e"
	upperID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
)

// TestServeEndToEnd runs the real program over a real tree with broken
// tasks and a conflict, and checks every field of the API.
func TestServeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "testdata/catalogue", dir)
	p := start(t, dir)
	p.waitReady(t)

	data := p.query(t, `{
		tasks { id version label description availableVersions source path digest stale error { message } }
		registry { generation taskCount versionCount loadedAt ready }
		sources { name type location status error taskCount loadedAt }
		loadErrors { source path file line column kind message }
		conflicts { id version path winner }
	}`)
	got := fmt.Sprint(data["tasks"])
	for _, want := range []string{
		"id:" + greetID, "version:1.1.0", "availableVersions:[1.0.0 1.1.0 2.0.0-rc.1]",
		"id:" + addID, "label:Add two numbers", "description:Returns the sum of a and b.", "path:" + filepath.Join(dir, "add") + " ",
		"id:" + upperID, "path:" + filepath.Join(dir, "uppercase.zip"), "stale:false", "digest:sha256:", "source:" + dir,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("tasks: got %s, want it to contain %q", got, want)
		}
	}
	reg := data["registry"].(map[string]any)
	if reg["taskCount"] != 3.0 || reg["versionCount"] != 5.0 || reg["generation"].(float64) < 1 || reg["loadedAt"] == nil || reg["ready"] != true {
		t.Errorf("registry: got %v", reg)
	}
	srcs := data["sources"].([]any)
	// Five versions served; the conflict's loser is not counted.
	if len(srcs) != 1 || fmt.Sprint(srcs[0]) != fmt.Sprintf("map[error:<nil> loadedAt:%s location:%s name:%s status:OK taskCount:5 type:filesystem]", srcs[0].(map[string]any)["loadedAt"], dir, dir) {
		t.Errorf("sources: got %v", srcs)
	}
	wantErrs := fmt.Sprintf("[map[column:30 file:main.js kind:SYNTAX line:2 message:JavaScript syntax error: Unexpected token } path:%s source:%s] "+
		"map[column:14 file:metadata.json kind:INVALID line:3 message:version \"v2.0.0\" has a leading \"v\": drop it and write \"2.0.0\" path:%s source:%s]]",
		filepath.Join(dir, "broken-script", "main.js"), dir, filepath.Join(dir, "broken-version", "metadata.json"), dir)
	if got := fmt.Sprint(data["loadErrors"]); got != wantErrs {
		t.Errorf("loadErrors:\ngot  %s\nwant %s", got, wantErrs)
	}
	wantConflicts := fmt.Sprintf("[map[id:%s path:%s version:1.0.0 winner:%s]]", addID, filepath.Join(dir, "zz-copies", "add"), filepath.Join(dir, "add"))
	if got := fmt.Sprint(data["conflicts"]); got != wantConflicts {
		t.Errorf("conflicts: got %s, want %s", got, wantConflicts)
	}

	one := p.query(t, `{
		latest: task(id: "`+greetID+`") { version }
		old: task(id: "`+strings.ToUpper(greetID)+`", version: "1.0.0") { version script }
		pre: task(id: "`+greetID+`", version: "2.0.0-rc.1") { version }
		add: task(id: "`+addID+`") { inputSchema outputSchema script tests { name input expectedOutput } }
		zip: task(id: "`+upperID+`") { script tests { name } }
		unknown: task(id: "00000000-0000-4000-8000-000000000000") { id }
		notUUID: task(id: "nope") { id }
		noVersion: task(id: "`+greetID+`", version: "9.9.9") { id }
		versions: taskVersions(id: "`+greetID+`")
		noVersions: taskVersions(id: "00000000-0000-4000-8000-000000000000")
	}`)
	checks := []struct{ key, want string }{
		{"latest", "map[version:1.1.0]"},
		{"old", `map[script:(function(input) { return { greeting: "Hello " + input.name }; })` + "\n" + ` version:1.0.0]`},
		{"pre", "map[version:2.0.0-rc.1]"},
		{"add", "map[inputSchema:map[$schema:https://json-schema.org/draft/2020-12/schema additionalProperties:false properties:map[a:map[type:number] b:map[type:number]] required:[a b] type:object] " +
			"outputSchema:map[$schema:https://json-schema.org/draft/2020-12/schema properties:map[sum:map[type:number]] required:[sum] type:object] " +
			"script:(function(input) {\n  return { sum: input.a + input.b };\n})\n " +
			"tests:[map[expectedOutput:map[sum:-2.5] input:map[a:-4 b:1.5] name:tests/negative.json] map[expectedOutput:map[sum:3] input:map[a:1 b:2] name:tests/small.json]]]"},
		{"zip", "map[script:(function(input) { return { text: input.text.toUpperCase() }; })\n tests:[map[name:tests/abc.json]]]"},
		{"unknown", "<nil>"},
		{"notUUID", "<nil>"},
		{"noVersion", "<nil>"},
		{"versions", "[1.0.0 1.1.0 2.0.0-rc.1]"},
		{"noVersions", "[]"},
	}
	for _, c := range checks {
		if got := fmt.Sprint(one[c.key]); got != c.want {
			t.Errorf("%s: got %s, want %s", c.key, got, c.want)
		}
	}

	// A malformed query is a GraphQL error with a 4xx status.
	resp, err := http.Post(p.url+"/graphql", "application/json", strings.NewReader(`{"query": "{ tasks { id "}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 || resp.StatusCode > 499 {
		t.Errorf("malformed query: got %d, want 4xx", resp.StatusCode)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(p.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: got %d, want 200", path, resp.StatusCode)
		}
	}
	if logs := p.logs.String(); !strings.Contains(logs, `msg="load error" source=`+dir+` path=`+filepath.Join(dir, "broken-script", "main.js")+` line=2 column=30 kind=SYNTAX`) {
		t.Errorf("the load error is not logged with its place:\n%s", logs)
	}
	p.stop(t)
	if !strings.Contains(p.logs.String(), "msg=stopped") {
		t.Errorf("no clean stop in the logs:\n%s", p.logs)
	}
}

func TestServeConfiguration(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "examples", filepath.Join(dir, "tasks"))
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "server:\n  addr: 127.0.0.1:0\nwatch:\n  mode: off\nregistry:\n  sources:\n    - type: filesystem\n      path: ./tasks\n")
	p := start(t, "--config", good, "--log-format", "json")
	p.waitReady(t)
	if n := p.query(t, `{ registry { taskCount } }`)["registry"].(map[string]any)["taskCount"]; n != 4.0 {
		t.Errorf("got %v tasks from a configuration with a relative path, want 4", n)
	}
	if !strings.Contains(p.logs.String(), `"msg":"listening"`) {
		t.Errorf("want JSON logs, got:\n%s", p.logs)
	}
	p.stop(t)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantLog  string
	}{
		{"unknown key", []string{"--config", write("unknown.yaml", "server:\n  addr: 127.0.0.1:0\n  adr: x\n")}, 1, `unknown.yaml:3: server.adr: is not a known key; did you mean addr?`},
		{"bad mode", []string{"--config", write("mode.yaml", "watch:\n  mode: sometimes\nregistry:\n  sources: [{type: filesystem, path: x}]\n")}, 1, `mode.yaml:2: watch.mode: is \"sometimes\": want auto, fsnotify, poll or off`},
		{"bad source", []string{"--config", write("src.yaml", "registry:\n  sources:\n    - type: ftp\n      path: x\n")}, 1, `src.yaml:3: registry.sources[0].type: is \"ftp\": want filesystem, http, oci or git`},
		{"bad git url", []string{"--config", write("git.yaml", "registry:\n  sources:\n    - type: git\n      url: /srv/tasks.git\n")}, 1, `git.yaml:4: registry.sources[0].url: \"/srv/tasks.git\" is not a git URL`},
		{"bad duration", []string{"--config", write("dur.yaml", "watch:\n  debounce: soon\n")}, 1, `dur.yaml:2: watch.debounce: is \"soon\"`},
		{"missing file", []string{"--config", filepath.Join(dir, "nope.yaml")}, 1, "no such file"},
		{"port in use", []string{"--addr", ln.Addr().String(), filepath.Join(dir, "tasks")}, 1, "address already in use"},
		{"nothing to serve", []string{}, 2, ""},
		{"bad log format", []string{"--log-format", "xml", "x"}, 2, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs watchertest.Log
			code := run(t.Context(), append([]string{"serve"}, tc.args...), &logs, &logs)
			if code != tc.wantCode || !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("got exit %d with %s, want %d with %q", code, logs.String(), tc.wantCode, tc.wantLog)
			}
		})
	}
}

// TestReloadOnDemand: with watching off, a new task appears after
// `mutation { reload }` and after SIGHUP.
func TestReloadOnDemand(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "examples/add", filepath.Join(dir, "add"))
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfg, []byte("watch:\n  mode: off\nregistry:\n  sources:\n    - {type: filesystem, path: "+dir+"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, "--config", cfg)
	p.waitReady(t)
	copyTree(t, "examples/greet/1.0.0", filepath.Join(dir, "greet"))
	out := p.raw(t, "mutation { reload }")
	gen, _ := out["data"].(map[string]any)["reload"].(float64)
	// The generation may have moved on since (the new task's verdict is a
	// swap of its own), never back, and the new task is there.
	data := p.query(t, `{ registry { generation taskCount } }`)["registry"].(map[string]any)
	if g, _ := data["generation"].(float64); data["taskCount"] != 2.0 || gen == 0 || g < gen {
		t.Errorf("got %v after reload returned %v, want 2 tasks at that generation or later", data, out)
	}
	copyTree(t, "examples/uppercase.zip", filepath.Join(dir, "u.zip"))
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// serve logs the line once the rescan has returned, after the swap: a
	// count of 3 can be seen before the line is written, never the line
	// before the count.
	eventually(t, 10*time.Second, func() bool { return strings.Contains(p.logs.String(), "rescan on SIGHUP") })
	if n := p.query(t, `{ registry { taskCount } }`)["registry"].(map[string]any)["taskCount"]; n != 3.0 {
		t.Errorf("got %v tasks after the SIGHUP rescan was logged, want 3:\n%s", n, p.logs)
	}
}

// TestShutdownEndsStreams: a graceful stop does not wait for open
// subscriptions; it ends them, and the program exits 0.
func TestShutdownEndsStreams(t *testing.T) {
	p := start(t, "examples")
	p.waitReady(t)
	req, _ := http.NewRequest("GET", p.url+"/graphql?query=subscription%7BregistryEvents%7Bkind%7D%7D", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		ended <- err
	}()
	ws, _, err := websocket.Dial(t.Context(), strings.Replace(p.url, "http", "ws", 1)+"/graphql", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if err := ws.Write(t.Context(), websocket.MessageText, []byte(`{"type": "connection_init"}`)); err != nil {
		t.Fatal(err)
	}
	if _, ack, err := ws.Read(t.Context()); err != nil || !strings.Contains(string(ack), "connection_ack") {
		t.Fatalf("got %s, %v", ack, err)
	}
	p.stop(t) // fails the test unless the program exits 0 within its deadline
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream outlived the server")
	}
	if _, _, err := ws.Read(t.Context()); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("got %v, want the socket closed with 1001 going away", err)
	}
}
