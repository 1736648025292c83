package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the YAML configuration file.
type Config struct {
	Server   ServerConfig   `yaml:"server"`
	Watch    WatchConfig    `yaml:"watch"`
	Registry RegistryConfig `yaml:"registry"`
}

// ServerConfig is the HTTP side.
type ServerConfig struct {
	Addr    string        `yaml:"addr"`
	Timeout time.Duration `yaml:"timeout"` // one GraphQL request
}

// WatchConfig says how changes on disk are noticed.
type WatchConfig struct {
	Mode           string        `yaml:"mode"` // auto | fsnotify | poll | off
	Debounce       time.Duration `yaml:"debounce"`
	MaxWait        time.Duration `yaml:"max_wait"`
	PollInterval   time.Duration `yaml:"poll_interval"`
	RescanInterval time.Duration `yaml:"rescan_interval"`
}

// RegistryConfig lists the sources in the order that decides conflicts.
type RegistryConfig struct {
	Sources  []SourceConfig `yaml:"sources"`
	CacheDir string         `yaml:"cache_dir"` // bundles of HTTP sources; default: the user's cache folder
}

// SourceConfig is one source.
type SourceConfig struct {
	Type     string            `yaml:"type"` // filesystem | http
	Name     string            `yaml:"name"`
	Path     string            `yaml:"path"`
	URL      string            `yaml:"url"`
	Interval time.Duration     `yaml:"interval"`
	Timeout  time.Duration     `yaml:"timeout"`
	Headers  map[string]string `yaml:"headers"`
	TokenEnv string            `yaml:"token_env"` // bearer token read from this environment variable

	line int // where it is in the file, for messages
}

func defaultConfig() Config {
	return Config{
		Server: ServerConfig{Addr: "127.0.0.1:8080", Timeout: 10 * time.Second},
		Watch: WatchConfig{Mode: "auto", Debounce: 50 * time.Millisecond, MaxWait: time.Second,
			PollInterval: time.Second, RescanInterval: time.Minute},
	}
}

// loadConfig reads a configuration file over the defaults. Unknown keys
// are errors that name their line; relative source paths are resolved
// against the file's folder.
func loadConfig(path string) (Config, error) {
	cfg := defaultConfig()
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read configuration: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return cfg, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil {
		lines := sourceLines(&root)
		for i := range cfg.Registry.Sources {
			if i < len(lines) {
				cfg.Registry.Sources[i].line = lines[i]
			}
		}
	}
	dir := filepath.Dir(path)
	for i, s := range cfg.Registry.Sources {
		if s.Type == "filesystem" && s.Path != "" && !filepath.IsAbs(s.Path) {
			cfg.Registry.Sources[i].Path = filepath.Join(dir, s.Path)
		}
	}
	if cfg.Registry.CacheDir != "" && !filepath.IsAbs(cfg.Registry.CacheDir) {
		cfg.Registry.CacheDir = filepath.Join(dir, cfg.Registry.CacheDir)
	}
	if err := cfg.check(); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// sourceLines finds the line of each item of registry.sources.
func sourceLines(root *yaml.Node) []int {
	find := func(n *yaml.Node, key string) *yaml.Node {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1]
			}
		}
		return nil
	}
	if len(root.Content) == 0 {
		return nil
	}
	srcs := find(find(root.Content[0], "registry"), "sources")
	if srcs == nil {
		return nil
	}
	var out []int
	for _, item := range srcs.Content {
		out = append(out, item.Line)
	}
	return out
}

// check rejects values that parse but make no sense.
func (c *Config) check() error {
	var errs []error
	switch c.Watch.Mode {
	case "auto", "fsnotify", "poll", "off":
	default:
		errs = append(errs, fmt.Errorf("watch.mode is %q: want auto, fsnotify, poll or off", c.Watch.Mode))
	}
	if c.Watch.Debounce < 0 || c.Watch.MaxWait < 0 || c.Watch.RescanInterval < 0 {
		errs = append(errs, errors.New("watch durations must not be negative"))
	}
	if c.Watch.PollInterval < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("watch.poll_interval is %s: the minimum is 100ms", c.Watch.PollInterval))
	}
	for i, s := range c.Registry.Sources {
		at := fmt.Sprintf("registry.sources[%d]", i)
		if s.line > 0 {
			at = fmt.Sprintf("line %d: %s", s.line, at)
		}
		switch s.Type {
		case "filesystem":
			if s.Path == "" {
				errs = append(errs, fmt.Errorf("%s: a filesystem source needs a path", at))
			}
		case "http":
			if !strings.HasPrefix(s.URL, "http://") && !strings.HasPrefix(s.URL, "https://") {
				errs = append(errs, fmt.Errorf("%s: an http source needs an http:// or https:// url, got %q", at, s.URL))
			}
			if s.Interval != 0 && s.Interval < time.Second {
				errs = append(errs, fmt.Errorf("%s: interval %s is under the minimum of 1s", at, s.Interval))
			}
			if s.TokenEnv != "" && os.Getenv(s.TokenEnv) == "" {
				errs = append(errs, fmt.Errorf("%s: token_env names %s, which is not set", at, s.TokenEnv))
			}
		default:
			errs = append(errs, fmt.Errorf("%s: type is %q: want filesystem or http", at, s.Type))
		}
	}
	return errors.Join(errs...)
}
