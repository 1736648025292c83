package ocisource

import (
	"os"
	"path/filepath"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/source"
)

// Type is this kind's name in the configuration and the API: an artifact in
// an OCI registry.
const Type registry.SourceType = "oci"

// Kind is the OCI source, as the configuration names it.
func Kind() source.Kind {
	return source.Kind{
		Type:         Type,
		New:          func() source.Config { return &Settings{Interval: DefaultInterval, Timeout: DefaultTimeout} },
		Defaults:     source.Polled(DefaultInterval, DefaultTimeout, "one request", DefaultMaxLoadBytes),
		UsesCacheDir: true,
	}
}

// DefaultInterval is Config.Interval and DefaultTimeout Remote.Timeout,
// unless set.
const (
	DefaultInterval = 30 * time.Second
	DefaultTimeout  = 30 * time.Second
)

// UserAgent is what the program says it is to registries.
const UserAgent = "ratchet-registry"

// Settings is an entry of registry.sources of type oci.
type Settings struct {
	Name         string        `yaml:"name"`
	Ref          string        `yaml:"ref"` // REGISTRY/REPOSITORY:TAG or @DIGEST
	Interval     time.Duration `yaml:"interval"`
	Timeout      time.Duration `yaml:"timeout"`
	Username     string        `yaml:"username"`       // else the Docker credential store and config
	PasswordEnv  string        `yaml:"password_env"`   // the password or token is read from this variable
	PlainHTTP    bool          `yaml:"plain_http"`     // http:// for a registry on loopback
	MaxLoadBytes int64         `yaml:"max_load_bytes"` // 0 keeps the default
}

// Resolve has no paths to resolve.
func (s *Settings) Resolve(string) {}

// Check wants a ref, an interval of at least a second, and a username
// with a password that is set, or neither.
func (s *Settings) Check(getenv func(string) string) []source.Problem {
	p := source.CheckBytes("max_load_bytes", s.MaxLoadBytes)
	if s.Ref == "" {
		p = append(p, source.Problem{Msg: "an oci source needs a ref (REGISTRY/REPOSITORY:TAG or @DIGEST)"})
	}
	p = append(p, source.CheckInterval(s.Interval)...)
	if (s.Username == "") != (s.PasswordEnv == "") {
		return append(p, source.Problem{Msg: "username and password_env go together"})
	}
	return append(p, source.CheckEnv(getenv, "password_env", s.PasswordEnv)...)
}

// Shown is the name and the ref, without credentials.
func (s *Settings) Shown() (name, location string) { return s.Name, registry.RedactURL(s.Ref) }

// Open makes the source, keeping blobs in deps.CacheDir.
func (s *Settings) Open(order int, deps source.Deps) (registry.Source, error) {
	src, err := New(Config{Name: s.Name, Ref: s.Ref, Interval: s.Interval, CacheDir: deps.CacheDir,
		Remote: Remote{PlainHTTP: s.PlainHTTP, Username: s.Username, Password: source.Env(deps.Getenv, s.PasswordEnv),
			DockerConfig: DockerConfigPath(deps.Getenv), Timeout: s.Timeout, UserAgent: UserAgent}, Loader: deps.Loader}, order, deps.Log)
	if err != nil {
		return nil, err
	}
	if s.MaxLoadBytes > 0 {
		src.MaxLoadBytes = s.MaxLoadBytes
	}
	return src, nil
}

// DockerConfigPath is the config.json that docker, oras and helm read
// credentials from: $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
func DockerConfigPath(getenv func(string) string) string {
	if dir := getenv("DOCKER_CONFIG"); dir != "" {
		return filepath.Join(dir, "config.json")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".docker", "config.json")
}
