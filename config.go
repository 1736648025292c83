package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ratchet-tasks/ratchet-registry/watcher"
	"gopkg.in/yaml.v3"

	"github.com/ratchet-tasks/ratchet-registry/httpapi"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/runner"
	"github.com/ratchet-tasks/ratchet-registry/registry/source"
	"github.com/ratchet-tasks/ratchet-registry/schema"
)

// Config is the YAML configuration file.
type Config struct {
	Server   ServerConfig   `yaml:"server"`
	Watch    WatchConfig    `yaml:"watch"`
	Registry RegistryConfig `yaml:"registry"`
	Tests    TestsConfig    `yaml:"tests"`

	// where tells, by key, where each value set in the file stands
	// ("FILE:LINE"), so that a value out of range is reported there.
	where map[string]string
}

// ServerConfig is the HTTP side.
type ServerConfig struct {
	Addr    string        `yaml:"addr"`
	Timeout time.Duration `yaml:"timeout"` // one GraphQL request, on every transport

	MaxCost        int      `yaml:"max_cost"`         // fields times list sizes, before a request runs
	MaxAnswerBytes int64    `yaml:"max_answer_bytes"` // one answer
	AllowedHosts   []string `yaml:"allowed_hosts"`    // Host names answered besides localhost, loopback and addr; "*": any
	CORSOrigins    []string `yaml:"cors_origins"`     // browser origins that may read answers

	AnswerCache int64 `yaml:"answer_cache_bytes"` // every cached answer, each encoding counted

	PersistedQueries    int `yaml:"persisted_queries"`     // automatic persisted queries kept
	PersistedQueryBytes int `yaml:"persisted_query_bytes"` // their text, summed

	MaxConnections   int           `yaml:"max_connections"`
	MaxStreams       int           `yaml:"max_streams"`       // open SSE and WebSocket streams
	MaxSubscriptions int           `yaml:"max_subscriptions"` // across all streams
	ReadTimeout      time.Duration `yaml:"read_timeout"`      // a request with its body
	IdleTimeout      time.Duration `yaml:"idle_timeout"`      // a keep-alive connection between requests
}

// WatchConfig says how changes on disk are noticed.
type WatchConfig struct {
	Mode           string        `yaml:"mode"` // auto | fsnotify | poll | off
	Debounce       time.Duration `yaml:"debounce"`
	MaxWait        time.Duration `yaml:"max_wait"`
	PollInterval   time.Duration `yaml:"poll_interval"`
	PollCPU        float64       `yaml:"poll_cpu"`
	RescanInterval time.Duration `yaml:"rescan_interval"`
}

// RegistryConfig lists the sources in the order that decides conflicts.
type RegistryConfig struct {
	Sources  []SourceEntry `yaml:"sources"`
	CacheDir string        `yaml:"cache_dir"` // bundles of HTTP sources; default: the user's cache folder
}

// TestsConfig says how serve runs the tasks' tests.
type TestsConfig struct {
	Enabled bool          `yaml:"enabled"`
	Timeout time.Duration `yaml:"timeout"` // wall time of one case
	Memory  string        `yaml:"memory"`  // per worker process, like 256MiB
	Workers int           `yaml:"workers"` // 0: one per CPU
	// TaskBudget is the time the cases of one task may take in one run.
	TaskBudget time.Duration `yaml:"task_budget"`
}

// MemoryBytes is tests.memory in bytes; check has made sure it parses.
func (t TestsConfig) MemoryBytes() int64 {
	n, _ := parseSize(t.Memory)
	return n
}

// parseSize reads a size as bytes or with a binary unit: 256MiB, 1GiB.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}, {"", 1}}
	for _, u := range units {
		num, ok := strings.CutSuffix(strings.TrimSpace(s), u.suffix)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
		if err != nil || n < 0 || n > (1<<50)/u.mult {
			break
		}
		return n * u.mult, nil
	}
	return 0, fmt.Errorf("is %q: want a size such as 256MiB or 1GiB", s)
}

// SourceEntry is one entry of registry.sources: its type, which picks
// the kind in the table of kinds, and the rest of it, decoded into that
// kind's own configuration.
type SourceEntry struct {
	Type   registry.SourceType
	Config source.Config // nil when the type is not a known kind, which decoding reports
}

// UnmarshalYAML decodes the entry into the configuration of its kind;
// the walker has reported an unknown type and every key the kind does not
// know.
func (e *SourceEntry) UnmarshalYAML(n *yaml.Node) error {
	typ, _ := typeOf(n)
	e.Type = registry.SourceType(typ.Value)
	k, ok := kindOf(e.Type)
	if !ok {
		return nil
	}
	e.Config = k.New()
	return n.Decode(e.Config)
}

// typeOf returns the node of an entry's type, when it has one.
func typeOf(n *yaml.Node) (*yaml.Node, bool) {
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "type" {
			return n.Content[i+1], true
		}
	}
	return &yaml.Node{}, false
}

// kindOf finds a kind in the table.
func kindOf(typ registry.SourceType) (source.Kind, bool) {
	for _, k := range kinds() {
		if k.Type == typ {
			return k, true
		}
	}
	return source.Kind{}, false
}

// kindNames lists the kinds as a message does: filesystem, http, oci or git.
func kindNames() string {
	var names []string
	for _, k := range kinds() {
		names = append(names, string(k.Type))
	}
	return orList(names)
}

// setting is one row of the defaults table.
type setting struct{ key, value, about string }

// defaults is the one place where each default is shown: defaultConfig
// is decoded from it, `serve -h` prints it and the operators' guide shows
// it (a test keeps the two equal). Keys under registry.sources[] come
// from the kinds of source, each documenting its own.
func defaults() []setting {
	return append([]setting{
		{"server.addr", "127.0.0.1:8080", "address to listen on (--addr)"},
		{"server.timeout", shortDuration(schema.DefaultTimeout), "longest a GraphQL request may run, on every transport (HTTP, SSE, WebSocket; for a subscription, each event); the work stops with it"},
		{"server.max_cost", strconv.Itoa(schema.DefaultMaxCost), "most a request may cost before it runs: every field once per list item it is resolved for, aliases included"},
		{"server.max_answer_bytes", strconv.Itoa(schema.DefaultMaxAnswerBytes), "largest answer (" + mib(schema.DefaultMaxAnswerBytes) + "); a request whose answer grows past it is stopped"},
		{"server.answer_cache_bytes", strconv.Itoa(httpapi.DefaultAnswerCacheBytes), "answers kept for repeated queries (" + mib(httpapi.DefaultAnswerCacheBytes) + "), their compressed forms, keys and bookkeeping counted; least recently used first out"},
		{"server.persisted_queries", strconv.Itoa(httpapi.DefaultPersistedQueries), "automatic persisted queries kept (Apollo's extensions.persistedQuery); least recently used first out"},
		{"server.persisted_query_bytes", strconv.Itoa(httpapi.DefaultPersistedQueryBytes), "the persisted queries kept, their text, keys and bookkeeping summed (" + mib(httpapi.DefaultPersistedQueryBytes) + "); a query over it runs and is not kept"},
		{"server.allowed_hosts", "", "Host names answered besides localhost, loopback addresses and the one of server.addr; `*` answers any"},
		{"server.cors_origins", "", "browser origins (`https://dash.example.com`) that may read answers; none by default"},
		{"server.max_connections", strconv.Itoa(httpapi.DefaultMaxConnections), "open connections; past it 8 more answer only /healthz, /readyz and /metrics, then 503"},
		{"server.max_streams", strconv.Itoa(httpapi.DefaultMaxStreams), "open SSE and WebSocket streams; past it 503"},
		{"server.max_subscriptions", strconv.Itoa(httpapi.DefaultMaxSubscriptions), "subscriptions over all streams (and at most " + strconv.Itoa(httpapi.DefaultSocketSubscriptions) + " per WebSocket)"},
		{"server.read_timeout", shortDuration(httpapi.DefaultReadTimeout), "longest a client may take to send a request with its body"},
		{"server.idle_timeout", shortDuration(httpapi.DefaultIdleTimeout), "a keep-alive connection with no request is closed after it"},
		{"watch.mode", "auto", "auto | fsnotify | poll | off (--watch)"},
		{"watch.debounce", shortDuration(watcher.DefaultDebounce), "quiet time before a batch of changes is reloaded"},
		{"watch.max_wait", shortDuration(watcher.DefaultMaxWait), "reload at least this often under a constant stream of writes"},
		{"watch.poll_interval", "1s", "period of mode poll, minimum " + shortDuration(watcher.MinPollInterval) + " (--poll-interval)"},
		{"watch.poll_cpu", strconv.FormatFloat(watcher.DefaultPollCPU, 'g', -1, 64), "share of the machine (all its cores) that polling may take, above 0 and at most 1; a larger share makes a round of a large polled tree shorter"},
		{"watch.rescan_interval", "1m", "full rescan as a safety net; 0 turns it off"},
		{"tests.enabled", "true", "serve runs every task's tests on every change, in sandboxed worker processes; false turns it off"},
		{"tests.timeout", "2s", "wall time of one test case; past it the case is TIMEOUT"},
		{"tests.memory", "256MiB", "memory of each test worker process beyond what it needs at rest; past it the case is ERROR"},
		{"tests.workers", "0", "test worker processes; 0: one per CPU"},
		{"tests.task_budget", shortDuration(runner.DefaultTaskBudget), "time the cases of one task may take in one run, summed; the cases left when it runs out are ERROR, not run"},
		{"registry.cache_dir", "", "where " + orList(cachingKinds()) + " sources keep what they fetch, across restarts; empty: the user's cache folder"},
	}, sourceDefaults(kinds())...)
}

// cachingKinds names the kinds that keep what they fetch in
// registry.cache_dir.
func cachingKinds() []string {
	var names []string
	for _, k := range kinds() {
		if k.UsesCacheDir {
			names = append(names, string(k.Type))
		}
	}
	return names
}

// shortDuration writes a default as a user would: 1m, not 1m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	for _, zero := range []string{"m0s", "h0m"} {
		if strings.HasSuffix(s, zero) {
			s = s[:len(s)-2]
		}
	}
	return s
}

// mib writes a size in MiB: 64 MiB.
func mib(n int64) string { return strconv.FormatInt(n>>20, 10) + " MiB" }

// sourceDefaults are the rows of the kinds' keys, registry.sources[].KEY:
// one row for a key and a value, which says which kinds have it, and what
// it means for each.
func sourceDefaults(kinds []source.Kind) []setting {
	type meaning struct {
		about string
		kinds []string
	}
	type row struct {
		key, value string
		meanings   []meaning
	}
	var rows []*row
	for _, k := range kinds {
		for _, d := range k.Defaults {
			i := slices.IndexFunc(rows, func(r *row) bool { return r.key == d.Key && r.value == d.Value })
			if i < 0 {
				rows = append(rows, &row{key: d.Key, value: d.Value})
				i = len(rows) - 1
			}
			r := rows[i]
			j := slices.IndexFunc(r.meanings, func(m meaning) bool { return m.about == d.About })
			if j < 0 {
				r.meanings = append(r.meanings, meaning{about: d.About})
				j = len(r.meanings) - 1
			}
			r.meanings[j].kinds = append(r.meanings[j].kinds, string(k.Type))
		}
	}
	out := make([]setting, 0, len(rows))
	for _, r := range rows {
		var about []string
		for _, m := range r.meanings {
			about = append(about, orList(m.kinds)+" source: "+m.about)
		}
		out = append(out, setting{"registry.sources[]." + r.key, r.value, strings.Join(about, "; ")})
	}
	return out
}

// orList writes names as a sentence does: a, b or c.
func orList(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// defaultValue returns a default from the table, which it must hold.
func defaultValue(key string) string {
	for _, s := range defaults() {
		if s.key == key {
			return s.value
		}
	}
	panic("no default for " + key)
}

// defaultsTable renders the defaults as the Markdown table of the README.
func defaultsTable() string {
	var b strings.Builder
	b.WriteString("| key | default | meaning |\n| --- | --- | --- |\n")
	for _, s := range defaults() {
		v := "`" + s.value + "`"
		if s.value == "" {
			v = "(empty)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", s.key, v, strings.ReplaceAll(s.about, "|", `\|`))
	}
	return b.String()
}

func defaultConfig() Config {
	var doc strings.Builder
	section := ""
	for _, s := range defaults() {
		sec, key, _ := strings.Cut(s.key, ".")
		if strings.Contains(key, ".") || strings.Contains(key, "[]") || s.value == "" {
			continue // per-source defaults are applied to each source
		}
		if sec != section {
			fmt.Fprintf(&doc, "%s:\n", sec)
			section = sec
		}
		if _, err := strconv.ParseFloat(s.value, 64); err == nil || s.value == "true" || s.value == "false" {
			fmt.Fprintf(&doc, "  %s: %s\n", key, s.value) // a number or a boolean, not a string
		} else {
			fmt.Fprintf(&doc, "  %s: %q\n", key, s.value)
		}
	}
	var cfg Config
	if err := decodeConfig("defaults", []byte(doc.String()), &cfg); err != nil {
		panic(err) // the table is wrong, which every test shows
	}
	cfg.where = nil
	return cfg
}

// A configError is one problem in a configuration, at its place.
type configError struct {
	Where string // FILE:LINE, or the flag that set the value
	Key   string // as a user writes it: watch.poll_interval
	Msg   string

	unknown bool // an unknown key, which does not stop the decoding
}

func (e *configError) Error() string {
	if strings.HasPrefix(e.Where, "--") && e.Key != "" {
		return e.Where + " " + e.Msg + " (" + e.Key + ")" // --workers is -1: ... (tests.workers)
	}
	if e.Key == "" {
		return e.Where + ": " + e.Msg
	}
	return e.Where + ": " + e.Key + ": " + e.Msg
}

// loadConfig reads a configuration file over the defaults. Every problem
// is a *configError naming the file, the line and the key; relative source
// paths are resolved against the file's folder.
func loadConfig(path string) (Config, error) {
	cfg := defaultConfig()
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read configuration: %w", err)
	}
	// No problem stops the decoding: a value that cannot be read keeps its
	// default, so that every problem of the file is reported in one run,
	// values out of range together with those that do not parse.
	decoded := decodeConfig(path, data, &cfg)
	dir := filepath.Dir(path)
	for _, e := range cfg.Registry.Sources {
		if e.Config != nil {
			e.Config.Resolve(dir)
		}
	}
	if cfg.Registry.CacheDir != "" && !filepath.IsAbs(cfg.Registry.CacheDir) {
		cfg.Registry.CacheDir = filepath.Join(dir, cfg.Registry.CacheDir)
	}
	var checked []error
	for _, e := range unwrapAll(cfg.check()) {
		if !saidBefore(e, decoded) {
			checked = append(checked, e)
		}
	}
	return cfg, inFileOrder(decoded, errors.Join(checked...))
}

// saidBefore reports whether a check's problem is about a value that
// decoding already refused (and replaced by its default or by nothing), so
// that one mistake is reported once.
func saidBefore(e, decoded error) bool {
	var ce *configError
	if !errors.As(e, &ce) {
		return false
	}
	for _, d := range unwrapAll(decoded) {
		var de *configError
		if !errors.As(d, &de) || de.unknown {
			continue
		}
		if de.Key == "" && de.Where == ce.Where ||
			de.Key != "" && ce.Key != "" && (within(ce.Key, de.Key) || within(de.Key, ce.Key)) {
			return true
		}
	}
	return false
}

// within reports whether key is inner or the same as outer:
// registry.sources[0].url is within registry.sources[0].
func within(key, outer string) bool {
	return key == outer || strings.HasPrefix(key, outer+".") || strings.HasPrefix(key, outer+"[")
}

func unwrapAll(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// inFileOrder joins configuration errors in the order of their lines.
func inFileOrder(errs ...error) error {
	var all []error
	for _, e := range errs {
		all = append(all, unwrapAll(e)...)
	}
	line := func(e error) int {
		var ce *configError
		if errors.As(e, &ce) {
			if _, n, ok := strings.Cut(ce.Where, ":"); ok {
				n, _, _ = strings.Cut(n, ":") // FILE:LINE:COL
				if i, err := strconv.Atoi(n); err == nil {
					return i
				}
			}
		}
		return 1 << 30 // flags and places unknown go last
	}
	slices.SortStableFunc(all, func(a, b error) int { return cmp.Compare(line(a), line(b)) })
	return errors.Join(all...)
}

// decodeConfig decodes YAML over cfg. It first walks the document against
// Config's fields, so that an unknown key is reported in words with the
// nearest known one, and a duration may be written as a bare 0.
func decodeConfig(file string, data []byte, cfg *Config) error {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return yamlErrors(file, data, err)
	}
	if len(root.Content) == 0 {
		return nil // an empty file: the defaults
	}
	if cfg.where == nil {
		cfg.where = map[string]string{}
	}
	// The walker drops the values it refuses; yaml.v3 decodes the rest,
	// and goes on past a value it cannot decode.
	errs := walker{file, cfg.where}.walk(root.Content[0], configType, "")
	if err := root.Content[0].Decode(cfg); err != nil {
		errs = append(errs, yamlErrors(file, data, err))
	}
	return errors.Join(errs...)
}

// yamlErrors turns yaml.v3's errors, which may hold several lines, into
// one configError a line.
func yamlErrors(file string, data []byte, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		where := file
		if rest, ok := strings.CutPrefix(msg, "line "); ok {
			if n, m, ok := strings.Cut(rest, ": "); ok {
				where, msg = file+":"+n, m
				if line, err := strconv.Atoi(n); err == nil {
					if line, col, ok := tabNear(data, line); ok {
						// yaml.v3 says "found character that cannot start
						// any token", which does not say it is the tab.
						where = fmt.Sprintf("%s:%d:%d", file, line, col)
						msg = "a tab character: YAML indents with spaces, never tabs (" + m + ")"
					}
				}
			}
		}
		return &configError{Where: where, Msg: msg}
	}
	var errs []error
	for _, e := range te.Errors {
		where := file
		if rest, ok := strings.CutPrefix(e, "line "); ok {
			if n, m, ok := strings.Cut(rest, ": "); ok {
				where, e = file+":"+n, m
			}
		}
		errs = append(errs, &configError{Where: where, Msg: e})
	}
	return errors.Join(errs...)
}

// tabNear returns the line and column (from 1) of the first tab on line
// of data or on the next one (yaml.v3 names the line before a tab that
// breaks the indentation), when there is one.
func tabNear(data []byte, line int) (int, int, bool) {
	lines := strings.Split(string(data), "\n")
	for l := line; l >= 1 && l <= min(line+1, len(lines)); l++ {
		if i := strings.IndexByte(lines[l-1], '\t'); i >= 0 {
			return l, utf8.RuneCountInString(lines[l-1][:i]) + 1, true
		}
	}
	return 0, 0, false
}

// check rejects values that parse but make no sense, at their place.
func (c *Config) check() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &configError{Where: c.at(key), Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if msg := checkAddr(c.Server.Addr); msg != "" {
		bad("server.addr", "%s", msg)
	}
	switch watcher.Mode(c.Watch.Mode) {
	case watcher.ModeAuto, watcher.ModeFsnotify, watcher.ModePoll, watcher.ModeOff:
	default:
		bad("watch.mode", "is %q: want auto, fsnotify, poll or off", c.Watch.Mode)
	}
	for key, d := range map[string]time.Duration{"watch.debounce": c.Watch.Debounce, "watch.max_wait": c.Watch.MaxWait,
		"watch.rescan_interval": c.Watch.RescanInterval, "server.timeout": c.Server.Timeout} {
		if d < 0 {
			bad(key, "is %s: a duration must not be negative", d)
		}
	}
	for _, v := range []struct {
		key string
		n   int64
	}{
		{"server.timeout", int64(c.Server.Timeout)}, {"server.max_cost", int64(c.Server.MaxCost)},
		{"server.max_answer_bytes", c.Server.MaxAnswerBytes}, {"server.max_connections", int64(c.Server.MaxConnections)},
		{"server.max_streams", int64(c.Server.MaxStreams)}, {"server.max_subscriptions", int64(c.Server.MaxSubscriptions)},
		{"server.read_timeout", int64(c.Server.ReadTimeout)}, {"server.idle_timeout", int64(c.Server.IdleTimeout)},
		{"server.answer_cache_bytes", c.Server.AnswerCache},
		{"server.persisted_queries", int64(c.Server.PersistedQueries)}, {"server.persisted_query_bytes", int64(c.Server.PersistedQueryBytes)},
	} {
		if v.n <= 0 {
			bad(v.key, "is %d: must be more than 0", v.n)
		}
	}
	if c.Tests.Timeout <= 0 {
		bad("tests.timeout", "is %s: must be more than 0", c.Tests.Timeout)
	}
	if n, err := parseSize(c.Tests.Memory); err != nil {
		bad("tests.memory", "%v", err)
	} else if n < 32<<20 {
		bad("tests.memory", "is %s: the minimum is 32MiB", c.Tests.Memory)
	}
	if c.Tests.Workers < 0 {
		bad("tests.workers", "is %d: want 0 (one per CPU) or more", c.Tests.Workers)
	}
	if c.Tests.TaskBudget <= 0 {
		bad("tests.task_budget", "is %s: must be more than 0", c.Tests.TaskBudget)
	}
	if c.Watch.PollInterval < watcher.MinPollInterval {
		bad("watch.poll_interval", "is %s: the minimum is %s", c.Watch.PollInterval, shortDuration(watcher.MinPollInterval))
	}
	if !(c.Watch.PollCPU > 0 && c.Watch.PollCPU <= 1) {
		bad("watch.poll_cpu", "is %g: want a share of the machine above 0 and at most 1, such as 0.25 or 0.5", c.Watch.PollCPU)
	}
	for i, e := range c.Registry.Sources {
		if e.Config == nil {
			continue // an unknown type, which decoding reported
		}
		at := fmt.Sprintf("registry.sources[%d]", i)
		for _, p := range e.Config.Check(os.Getenv) {
			if p.Key != "" {
				bad(at+"."+p.Key, "%s", p.Msg)
			} else {
				bad(at, "%s", p.Msg)
			}
		}
	}
	return errors.Join(errs...)
}

// checkAddr says what is wrong with a listen address, in the words of the
// one who wrote it: net.Listen would say only "missing port in address".
func checkAddr(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		if n, err := strconv.Atoi(port); err == nil && n >= 0 && n <= 65535 {
			return ""
		}
		return fmt.Sprintf("is %q: the port must be a number from 0 to 65535 (0: any free port)", addr)
	}
	example := "127.0.0.1:8080"
	if n, err := strconv.Atoi(addr); err == nil && n >= 0 && n <= 65535 {
		example = "127.0.0.1:" + addr // a bare port
	} else if host := strings.Trim(addr, "[]"); host != "" && !strings.Contains(host, ":") {
		example = host + ":8080"
	}
	return fmt.Sprintf("is %q: write HOST:PORT, such as %s", addr, example)
}

// checkFlags holds a command's flags to the checks of the configuration
// keys they mirror (keys maps a flag's name to its key): it records which
// flags were given, so that a problem names the flag, then checks c with
// the one check the configuration file passes too.
func (c *Config) checkFlags(fs *flag.FlagSet, keys map[string]string) error {
	fs.Visit(func(f *flag.Flag) {
		if key, ok := keys[f.Name]; ok {
			c.setFlag(key, "--"+f.Name)
		}
	})
	return c.check()
}

// at says where key was set: its line in the file, the flag that set it,
// or the nearest enclosing key that has a place.
func (c *Config) at(key string) string {
	for k := key; k != ""; {
		if w, ok := c.where[k]; ok {
			return w
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return "configuration"
}

// setFlag records that a flag set key, for messages about its value.
func (c *Config) setFlag(key, flag string) {
	if c.where == nil {
		c.where = map[string]string{}
	}
	c.where[key] = flag
}

// defaultsText renders the defaults for `serve -h`.
func defaultsText() string {
	var b strings.Builder
	for _, s := range defaults() {
		v := s.value
		if v == "" {
			v = `""`
		}
		fmt.Fprintf(&b, "  %-28s %-15s %s\n", s.key, v, s.about)
	}
	return b.String()
}
