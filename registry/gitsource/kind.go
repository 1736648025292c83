package gitsource

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/source"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// Type is this kind's name in the configuration and the API: a folder of a
// git repository.
const Type registry.SourceType = "git"

// Kind is the git source, as the configuration names it.
func Kind() source.Kind {
	return source.Kind{
		Type: Type,
		New:  func() source.Config { return &Settings{Interval: DefaultInterval, Timeout: DefaultTimeout} },
		Defaults: append(source.Polled(DefaultInterval, DefaultTimeout, "one poll (ls-remote and fetch)", DefaultMaxLoadBytes),
			source.Default{Key: "max_task_bytes", Value: strconv.Itoa(DefaultMaxTaskBytes), About: fmt.Sprintf("most the files of one task may come to as they are read (%d MiB, what a task zip may hold); a task over it is a load error naming this key", DefaultMaxTaskBytes>>20)}),
		UsesCacheDir: true,
	}
}

// Defaults of Config where it is 0.
const (
	DefaultInterval     = 30 * time.Second
	DefaultTimeout      = 30 * time.Second
	DefaultMaxLoadBytes = 512 << 20
	DefaultMaxTaskBytes = taskformat.MaxTotalSize
)

// Settings is an entry of registry.sources of type git.
type Settings struct {
	Name          string        `yaml:"name"`
	URL           string        `yaml:"url"`
	Ref           string        `yaml:"ref"`  // branch, tag or commit
	Path          string        `yaml:"path"` // the folder in the repository
	Interval      time.Duration `yaml:"interval"`
	Timeout       time.Duration `yaml:"timeout"`
	TokenEnv      string        `yaml:"token_env"`       // the HTTPS token is read from this variable
	SSHKey        string        `yaml:"ssh_key"`         // private key file
	SSHKnownHosts string        `yaml:"ssh_known_hosts"` // known_hosts file
	MaxLoadBytes  int64         `yaml:"max_load_bytes"`  // 0 keeps the default
	MaxTaskBytes  int64         `yaml:"max_task_bytes"`  // 0 keeps the default
}

// Resolve makes the key files relative to the configuration's folder;
// ~/ stands for the home folder, as ssh takes it.
func (s *Settings) Resolve(dir string) {
	for _, p := range []*string{&s.SSHKey, &s.SSHKnownHosts} {
		if *p != "" && !filepath.IsAbs(*p) && !strings.HasPrefix(*p, "~/") {
			*p = filepath.Join(dir, *p)
		}
	}
}

// Check wants a url git can fetch from, an interval of at least a second
// and the token's variable set.
func (s *Settings) Check(getenv func(string) string) []source.Problem {
	p := append(source.CheckBytes("max_load_bytes", s.MaxLoadBytes), source.CheckBytes("max_task_bytes", s.MaxTaskBytes)...)
	if err := CheckURL(s.URL); err != nil {
		p = append(p, source.Problem{Key: "url", Msg: err.Error()})
	}
	p = append(p, source.CheckInterval(s.Interval)...)
	return append(p, source.CheckEnv(getenv, "token_env", s.TokenEnv)...)
}

// Shown is the name and the url, without credentials.
func (s *Settings) Shown() (name, location string) { return s.Name, registry.RedactURL(s.URL) }

// Open makes the source, keeping its repository in deps.CacheDir.
func (s *Settings) Open(order int, deps source.Deps) (registry.Source, error) {
	return New(Config{Name: s.Name, URL: s.URL, Ref: s.Ref, Path: s.Path, Interval: s.Interval, Timeout: s.Timeout,
		Token: source.Env(deps.Getenv, s.TokenEnv), SSHKey: s.SSHKey, SSHKnownHosts: s.SSHKnownHosts, CacheDir: deps.CacheDir,
		MaxLoadBytes: s.MaxLoadBytes, MaxTaskBytes: s.MaxTaskBytes, Loader: deps.Loader}, order, deps.Log)
}
