package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry/httpsource"
)

// TestConfigErrors: every problem names the file, the line and the key in
// words, and an unknown key comes with the nearest known one.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // one line each, in this order
	}{
		{"out of range", "watch:\n  mode: inotify\n  poll_interval: 10ms\n", []string{
			`c.yaml:2: watch.mode: is "inotify": want auto, fsnotify, poll or off`,
			`c.yaml:3: watch.poll_interval: is 10ms: the minimum is 100ms`}},
		{"misspelt keys", "watch:\n  debounse: 10ms\nserver:\n  address: x\nregistery: {}\n", []string{
			`c.yaml:2: watch.debounse: is not a known key; did you mean debounce?`,
			`c.yaml:4: server.address: is not a known key; did you mean addr?`,
			`c.yaml:5: registery: is not a known key; did you mean registry?`}},
		{"nothing near", "watch:\n  colour: blue\n", []string{
			`c.yaml:2: watch.colour: is not a known key; known keys: mode, debounce, max_wait, poll_interval, poll_cpu, rescan_interval`}},
		{"unit missing", "watch:\n  debounce: 50\n", []string{
			`c.yaml:2: watch.debounce: is 50 without a unit: write 50ms, 50s or 50m`}},
		{"unknown keys and bad values together", "registry:\n  sources:\n    - type: http\n      url: ftp://x\n      interval: 10ms\n    - {type: filesystem, pth: x}\n", []string{
			`c.yaml:4: registry.sources[0].url: is "ftp://x": an http source needs an http:// or https:// url`,
			`c.yaml:5: registry.sources[0].interval: is 10ms: the minimum is 1s`,
			`c.yaml:6: registry.sources[1].pth: is not a known key; did you mean path?`,
			`c.yaml:6: registry.sources[1]: a filesystem source needs a path`}},
		{"source values", "registry:\n  sources:\n    - type: http\n      url: ftp://x\n      interval: 10ms\n    - {type: filesystem}\n", []string{
			`c.yaml:4: registry.sources[0].url: is "ftp://x": an http source needs an http:// or https:// url`,
			`c.yaml:5: registry.sources[0].interval: is 10ms: the minimum is 1s`,
			`c.yaml:6: registry.sources[1]: a filesystem source needs a path`}},
		{"numbers", "watch:\n  poll_cpu: half\nserver:\n  max_cost: \"100\"\n  max_streams: [1]\ntests:\n  workers: 2.5\n", []string{
			`c.yaml:2: watch.poll_cpu: is "half": want a number such as 0.5`,
			`c.yaml:4: server.max_cost: is the string "100": write 100 without quotes`,
			`c.yaml:5: server.max_streams: want a whole number such as 4, not a list or a mapping`,
			`c.yaml:7: tests.workers: is "2.5": want a whole number such as 4`}},
		{"poll_cpu out of range", "watch:\n  poll_cpu: 0\n", []string{
			`c.yaml:2: watch.poll_cpu: is 0: want a share of the machine above 0 and at most 1, such as 0.25 or 0.5`}},
		{"poll_cpu above the machine", "watch:\n  poll_cpu: 1.5\n", []string{
			`c.yaml:2: watch.poll_cpu: is 1.5: want a share of the machine above 0 and at most 1, such as 0.25 or 0.5`}},
		{"no task budget", "tests:\n  task_budget: 0s\n", []string{`c.yaml:2: tests.task_budget: is 0s: must be more than 0`}},
		{"wrong shape", "watch: [1, 2]\n", []string{`c.yaml:1: watch: want a mapping of keys to values`}},
		{"syntax", "watch:\n  mode: [\n", []string{`c.yaml:2: did not find expected node content`}},
		{"values that do not parse and values out of range, in one run", "server:\n  timeout: fast\n  max_cost: -1\nwatch:\n  debounce: 50\n  poll_interval: 1ms\ntests:\n  workers: [2]\n  memory: 1MiB\n", []string{
			`c.yaml:2: server.timeout: is "fast": want a duration such as 50ms, 2s or 1m`,
			`c.yaml:3: server.max_cost: is -1: must be more than 0`,
			`c.yaml:5: watch.debounce: is 50 without a unit: write 50ms, 50s or 50m`,
			`c.yaml:6: watch.poll_interval: is 1ms: the minimum is 100ms`,
			`c.yaml:8: tests.workers: want a whole number such as 4, not a list or a mapping`,
			`c.yaml:9: tests.memory: is 1MiB: the minimum is 32MiB`}},
		{"a source that is not a mapping is said once", "registry:\n  sources:\n    - ./tasks\n    - {type: filesystem, path: [x]}\n    - {type: git}\n", []string{
			`c.yaml:3: registry.sources[0]: want a mapping of keys to values`,
			`c.yaml:4: registry.sources[1].path: want a single value, not a list or a mapping`,
			`c.yaml:5: registry.sources[2].url: a git source needs a url`}},
		{"a key of another kind of source", "registry:\n  sources:\n    - {type: filesystem, path: x, url: 'http://h/v1'}\n    - {type: http, url: 'http://h/v1', ssh_kye: k}\n", []string{
			`c.yaml:3: registry.sources[0].url: is not a known key; known keys: type, name, path, follow_symlinks_outside`,
			`c.yaml:4: registry.sources[1].ssh_kye: is not a known key; known keys: type, name, url, interval, timeout, headers, token_env, allow_hosts, max_load_bytes`}},
		{"a type that is no kind", "registry:\n  sources:\n    - type: ftp\n      url: x\n    - {path: x}\n    - {type: gti, urll: x}\n", []string{
			`c.yaml:3: registry.sources[0].type: is "ftp": want filesystem, http, oci or git`,
			`c.yaml:5: registry.sources[1].type: is "": want filesystem, http, oci or git`,
			`c.yaml:6: registry.sources[2].type: is "gti": want filesystem, http, oci or git`}},
		{"a boolean", "tests:\n  enabled: maybe\n  workers: -1\nregistry:\n  sources:\n    - {type: filesystem, path: x, follow_symlinks_outside: yes}\n", []string{
			`c.yaml:2: tests.enabled: is "maybe": want true or false`,
			`c.yaml:3: tests.workers: is -1: want 0 (one per CPU) or more`}},
		{"a tab", "server:\n\taddr: x\n", []string{
			`c.yaml:2:1: a tab character: YAML indents with spaces, never tabs (found character that cannot start any token)`}},
		{"a tab after a key", "watch:\n  mode: off\n \tdebounce: 1s\n", []string{
			`c.yaml:3:2: a tab character: YAML indents with spaces, never tabs (found a tab character that violates indentation)`}},
		{"an address without a port", "server:\n  addr: 18103\n", []string{
			`c.yaml:2: server.addr: is "18103": write HOST:PORT, such as 127.0.0.1:18103`}},
		{"an address without a port, by name", "server:\n  addr: localhost\n", []string{
			`c.yaml:2: server.addr: is "localhost": write HOST:PORT, such as localhost:8080`}},
		{"a port out of range", "server:\n  addr: 127.0.0.1:99999\n", []string{
			`c.yaml:2: server.addr: is "127.0.0.1:99999": the port must be a number from 0 to 65535 (0: any free port)`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := loadConfig(path)
			if err == nil {
				t.Fatal("got no error")
			}
			got := strings.ReplaceAll(err.Error(), filepath.Dir(path)+string(filepath.Separator), "")
			if want := strings.Join(tc.want, "\n"); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestConfigZeroDurations: a bare 0 is a duration, as the README promises
// for rescan_interval, and the defaults come from the one table.
func TestConfigZeroDurations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	yaml := "watch:\n  rescan_interval: 0\n  debounce: 0\n  max_wait: 0.0\nregistry:\n  sources:\n    - {type: http, url: 'http://127.0.0.1:1/v1'}\n"
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Watch.RescanInterval != 0 || cfg.Watch.Debounce != 0 || cfg.Watch.MaxWait != 0 {
		t.Errorf("got %+v, want zero durations", cfg.Watch)
	}
	if cfg.Watch.PollInterval != time.Second || cfg.Server.Addr != "127.0.0.1:8080" || cfg.Registry.Sources[0].Config.(*httpsource.Settings).Interval != httpsource.DefaultInterval {
		t.Errorf("got %+v, want the defaults of the table where the file is silent", cfg)
	}
}

// TestConfigNumbers: YAML's own ways of writing a number are taken, and
// an empty value keeps the default.
func TestConfigNumbers(t *testing.T) {
	tests := []struct {
		yaml    string
		cost    int
		pollCPU float64
	}{
		{"server:\n  max_cost: 1_000\n", 1000, 0.25},
		{"server:\n  max_cost: 0x10\n", 16, 0.25},
		{"server:\n  max_cost: 1e3\n", 1000, 0.25},
		{"server:\n  max_cost:\nwatch:\n  poll_cpu: ~\n", 5_000_000, 0.25},
		{"watch:\n  poll_cpu: .5\n", 5_000_000, 0.5},
		{"watch:\n  poll_cpu: 1\n", 5_000_000, 1},
	}
	for _, tc := range tests {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, []byte(tc.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfig(path)
		if err != nil || cfg.Server.MaxCost != tc.cost || cfg.Watch.PollCPU != tc.pollCPU {
			t.Errorf("%q: got max_cost %d, poll_cpu %g (%v), want %d and %g", tc.yaml, cfg.Server.MaxCost, cfg.Watch.PollCPU, err, tc.cost, tc.pollCPU)
		}
	}
}
