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

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/gitsource"
	"github.com/ratchet-tasks/ratchet-registry/registry/runner"
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
	Sources  []SourceConfig `yaml:"sources"`
	CacheDir string         `yaml:"cache_dir"` // bundles of HTTP sources; default: the user's cache folder
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

// SourceConfig is one source.
type SourceConfig struct {
	Type     string            `yaml:"type"` // filesystem | http | git
	Name     string            `yaml:"name"`
	Path     string            `yaml:"path"` // git: the folder in the repository
	URL      string            `yaml:"url"`
	Interval time.Duration     `yaml:"interval"`
	Timeout  time.Duration     `yaml:"timeout"`
	Headers  map[string]string `yaml:"headers"`
	TokenEnv string            `yaml:"token_env"` // token read from this environment variable
	// AllowHosts are hosts besides the url's own that bundles may come
	// from ("*": any); by default none.
	AllowHosts []string `yaml:"allow_hosts"`
	// FollowSymlinksOutside lets a filesystem source follow symlinks that
	// resolve outside its path.
	FollowSymlinksOutside bool `yaml:"follow_symlinks_outside"`

	// OCI: the artifact to follow, and how to reach its registry.
	// git: the branch, tag or commit to follow.
	Ref         string `yaml:"ref"`          // OCI: REGISTRY/REPOSITORY:TAG or @DIGEST; git: branch, tag or commit
	Username    string `yaml:"username"`     // else the Docker credential store and config
	PasswordEnv string `yaml:"password_env"` // password or token read from this environment variable
	PlainHTTP   bool   `yaml:"plain_http"`   // http:// for a registry on loopback

	SSHKey        string `yaml:"ssh_key"`         // git: private key file
	SSHKnownHosts string `yaml:"ssh_known_hosts"` // git: known_hosts file

	// Budgets of what a remote source may read; 0 keeps the default.
	MaxLoadBytes int64 `yaml:"max_load_bytes"` // http, oci, git: one load
	MaxTaskBytes int64 `yaml:"max_task_bytes"` // git: one task
}

// setting is one row of the defaults table.
type setting struct{ key, value, about string }

// defaults is the one place where each default lives: defaultConfig is
// decoded from it, `serve -h` prints it and the README shows it (a test
// keeps the two equal). Keys under registry.sources[] apply to each source.
var defaults = []setting{
	{"server.addr", "127.0.0.1:8080", "address to listen on (--addr)"},
	{"server.timeout", "10s", "longest a GraphQL request may run, on every transport (HTTP, SSE, WebSocket; for a subscription, each event); the work stops with it"},
	{"server.max_cost", "5000000", "most a request may cost before it runs: every field once per list item it is resolved for, aliases included"},
	{"server.max_answer_bytes", "67108864", "largest answer (64 MiB); a request whose answer grows past it is stopped"},
	{"server.answer_cache_bytes", "134217728", "answers kept for repeated queries (128 MiB), compressed forms counted; least recently used first out"},
	{"server.persisted_queries", "4096", "automatic persisted queries kept (Apollo's extensions.persistedQuery); least recently used first out"},
	{"server.persisted_query_bytes", "16777216", "the text of the persisted queries kept, summed (16 MiB); a query over it runs and is not kept"},
	{"server.allowed_hosts", "", "Host names answered besides localhost, loopback addresses and the one of server.addr; `*` answers any"},
	{"server.cors_origins", "", "browser origins (`https://dash.example.com`) that may read answers; none by default"},
	{"server.max_connections", "512", "open connections; past it 8 more answer only /healthz, /readyz and /metrics, then 503"},
	{"server.max_streams", "256", "open SSE and WebSocket streams; past it 503"},
	{"server.max_subscriptions", "1024", "subscriptions over all streams (and at most 100 per WebSocket)"},
	{"server.read_timeout", "30s", "longest a client may take to send a request with its body"},
	{"server.idle_timeout", "1m", "a keep-alive connection with no request is closed after it"},
	{"watch.mode", "auto", "auto | fsnotify | poll | off (--watch)"},
	{"watch.debounce", "50ms", "quiet time before a batch of changes is reloaded"},
	{"watch.max_wait", "1s", "reload at least this often under a constant stream of writes"},
	{"watch.poll_interval", "1s", "period of mode poll, minimum 100ms (--poll-interval)"},
	{"watch.poll_cpu", "0.25", "share of the machine (all its cores) that polling may take, above 0 and at most 1; a larger share makes a round of a large polled tree shorter"},
	{"watch.rescan_interval", "1m", "full rescan as a safety net; 0 turns it off"},
	{"tests.enabled", "true", "serve runs every task's tests on every change, in sandboxed worker processes; false turns it off"},
	{"tests.timeout", "2s", "wall time of one test case; past it the case is TIMEOUT"},
	{"tests.memory", "256MiB", "memory of each test worker process beyond what it needs at rest; past it the case is ERROR"},
	{"tests.workers", "0", "test worker processes; 0: one per CPU"},
	{"tests.task_budget", runner.DefaultTaskBudget.String(), "time the cases of one task may take in one run, summed; the cases left when it runs out are ERROR, not run"},
	{"registry.cache_dir", "", "bundles of http sources, blobs of oci sources, repositories of git sources; empty: the user's cache folder"},
	{"registry.sources[].interval", "30s", "poll period of an http, oci or git source, minimum 1s"},
	{"registry.sources[].timeout", "30s", "one request of an http or oci source, one poll (ls-remote and fetch) of a git source"},
	{"registry.sources[].max_load_bytes", "536870912", "http, oci or git source: most one load may read (512 MiB), each read counted, so that one blob or bundle listed many times counts as often; the bundles or layers it would fetch count before they are fetched. A load over it stops, is shown on the source, and what was served stays"},
	{"registry.sources[].max_task_bytes", "104857600", "git source: most the files of one task may come to as they are read (100 MiB, what a task zip may hold); a task over it is a load error naming this key"},
	{"registry.sources[].follow_symlinks_outside", "false", "filesystem source: follow symlinks that resolve outside its path; by default such a link is a load error, since it could serve any file the server can read"},
}

// defaultValue returns a default from the table, which it must hold.
func defaultValue(key string) string {
	for _, s := range defaults {
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
	for _, s := range defaults {
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
	for _, s := range defaults {
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
	interval, _ := time.ParseDuration(defaultValue("registry.sources[].interval"))
	timeout, _ := time.ParseDuration(defaultValue("registry.sources[].timeout"))
	dir := filepath.Dir(path)
	for i, s := range cfg.Registry.Sources {
		if s.Type == "http" || s.Type == "oci" || s.Type == "git" {
			cfg.Registry.Sources[i].Interval = cmp.Or(s.Interval, interval)
			cfg.Registry.Sources[i].Timeout = cmp.Or(s.Timeout, timeout)
		}
		for _, p := range []*string{&cfg.Registry.Sources[i].SSHKey, &cfg.Registry.Sources[i].SSHKnownHosts} {
			if *p != "" && !filepath.IsAbs(*p) && !strings.HasPrefix(*p, "~/") {
				*p = filepath.Join(dir, *p)
			}
		}
		if s.Type == "filesystem" && s.Path != "" && !filepath.IsAbs(s.Path) {
			cfg.Registry.Sources[i].Path = filepath.Join(dir, s.Path)
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
	// walkConfig drops the values it refuses; yaml.v3 decodes the rest,
	// and goes on past a value it cannot decode.
	errs := walkConfig(file, root.Content[0], configType, "", cfg.where)
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
	if c.Watch.PollInterval < 100*time.Millisecond {
		bad("watch.poll_interval", "is %s: the minimum is 100ms", c.Watch.PollInterval)
	}
	if !(c.Watch.PollCPU > 0 && c.Watch.PollCPU <= 1) {
		bad("watch.poll_cpu", "is %g: want a share of the machine above 0 and at most 1, such as 0.25 or 0.5", c.Watch.PollCPU)
	}
	for i, s := range c.Registry.Sources {
		at := fmt.Sprintf("registry.sources[%d]", i)
		if s.MaxLoadBytes < 0 {
			bad(at+".max_load_bytes", "is %d: want a number of bytes, or 0 for the default", s.MaxLoadBytes)
		}
		if s.MaxTaskBytes < 0 {
			bad(at+".max_task_bytes", "is %d: want a number of bytes, or 0 for the default", s.MaxTaskBytes)
		}
		switch s.Type {
		case "filesystem":
			if s.Path == "" {
				bad(at, "a filesystem source needs a path")
			}
		case "http":
			if !strings.HasPrefix(s.URL, "http://") && !strings.HasPrefix(s.URL, "https://") {
				bad(at+".url", "is %q: an http source needs an http:// or https:// url", registry.RedactURL(s.URL))
			}
			if s.Interval != 0 && s.Interval < time.Second {
				bad(at+".interval", "is %s: the minimum is 1s", s.Interval)
			}
			if s.TokenEnv != "" && os.Getenv(s.TokenEnv) == "" {
				bad(at+".token_env", "names %s, which is not set", s.TokenEnv)
			}
		case "git":
			if err := gitsource.CheckURL(s.URL); err != nil {
				bad(at+".url", "%v", err)
			}
			if s.Interval != 0 && s.Interval < time.Second {
				bad(at+".interval", "is %s: the minimum is 1s", s.Interval)
			}
			if s.TokenEnv != "" && os.Getenv(s.TokenEnv) == "" {
				bad(at+".token_env", "names %s, which is not set", s.TokenEnv)
			}
		case "oci":
			if s.Ref == "" {
				bad(at, "an oci source needs a ref (REGISTRY/REPOSITORY:TAG or @DIGEST)")
			}
			if s.Interval != 0 && s.Interval < time.Second {
				bad(at+".interval", "is %s: the minimum is 1s", s.Interval)
			}
			if (s.Username == "") != (s.PasswordEnv == "") {
				bad(at, "username and password_env go together")
			} else if s.PasswordEnv != "" && os.Getenv(s.PasswordEnv) == "" {
				bad(at+".password_env", "names %s, which is not set", s.PasswordEnv)
			}
		default:
			bad(at+".type", "is %q: want filesystem, http, oci or git", s.Type)
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
	for _, s := range defaults {
		v := s.value
		if v == "" {
			v = `""`
		}
		fmt.Fprintf(&b, "  %-28s %-15s %s\n", s.key, v, s.about)
	}
	return b.String()
}

// checkTestFlags holds `test`'s flags to the checks of tests.timeout,
// tests.memory and tests.workers.
func checkTestFlags(fs *flag.FlagSet, tests TestsConfig) error {
	c := defaultConfig()
	c.Tests = tests
	return c.checkFlags(fs, map[string]string{"timeout": "tests.timeout", "memory": "tests.memory", "workers": "tests.workers"})
}
