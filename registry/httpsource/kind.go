package httpsource

import (
	"fmt"
	"strings"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/source"
)

// Type is this kind's name in the configuration and the API: a static host or
// another registry over HTTP.
const Type registry.SourceType = "http"

// Kind is the HTTP source, as the configuration names it.
func Kind() source.Kind {
	return source.Kind{
		Type:         Type,
		New:          func() source.Config { return &Settings{Interval: DefaultInterval, Timeout: DefaultTimeout} },
		Defaults:     source.Polled(DefaultInterval, DefaultTimeout, "one request", DefaultMaxLoadBytes),
		UsesCacheDir: true,
	}
}

// DefaultInterval and DefaultTimeout are Config.Interval and
// Config.Timeout unless set.
const (
	DefaultInterval = 30 * time.Second
	DefaultTimeout  = 30 * time.Second
)

// Settings is an entry of registry.sources of type http.
type Settings struct {
	Name       string            `yaml:"name"`
	URL        string            `yaml:"url"`
	Interval   time.Duration     `yaml:"interval"`
	Timeout    time.Duration     `yaml:"timeout"`
	Headers    map[string]string `yaml:"headers"`
	TokenEnv   string            `yaml:"token_env"` // the bearer token is read from this variable
	AllowHosts []string          `yaml:"allow_hosts"`
	// MaxLoadBytes is Source.MaxLoadBytes; 0 keeps the default.
	MaxLoadBytes int64 `yaml:"max_load_bytes"`
}

// Resolve has no paths to resolve.
func (s *Settings) Resolve(string) {}

// Check wants an http(s) url, an interval of at least a second and the
// token's variable set.
func (s *Settings) Check(getenv func(string) string) []source.Problem {
	p := source.CheckBytes("max_load_bytes", s.MaxLoadBytes)
	if !strings.HasPrefix(s.URL, "http://") && !strings.HasPrefix(s.URL, "https://") {
		p = append(p, source.Problem{Key: "url", Msg: fmt.Sprintf("is %q: an http source needs an http:// or https:// url", registry.RedactURL(s.URL))})
	}
	p = append(p, source.CheckInterval(s.Interval)...)
	return append(p, source.CheckEnv(getenv, "token_env", s.TokenEnv)...)
}

// Shown is the name and the url, without credentials.
func (s *Settings) Shown() (name, location string) { return s.Name, registry.RedactURL(s.URL) }

// Open makes the source, keeping bundles in deps.CacheDir.
func (s *Settings) Open(order int, deps source.Deps) (registry.Source, error) {
	src, err := New(Config{Name: s.Name, URL: s.URL, Interval: s.Interval, Timeout: s.Timeout, Headers: s.Headers,
		Token: source.Env(deps.Getenv, s.TokenEnv), CacheDir: deps.CacheDir, AllowHosts: s.AllowHosts, Loader: deps.Loader}, order, deps.Log)
	if err != nil {
		return nil, err
	}
	if s.MaxLoadBytes > 0 {
		src.MaxLoadBytes = s.MaxLoadBytes
	}
	return src, nil
}
