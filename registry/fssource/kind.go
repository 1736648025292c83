package fssource

import (
	"path/filepath"
	"strconv"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/source"
)

// Type is this kind's name in the configuration and the API: a folder, a
// collection or a zip on this machine.
const Type registry.SourceType = "filesystem"

// Kind is the filesystem source, as the configuration names it.
func Kind() source.Kind {
	return source.Kind{
		Type: Type,
		New:  func() source.Config { return new(Settings) },
		Defaults: []source.Default{
			{Key: "follow_symlinks_outside", Value: strconv.FormatBool(false), About: "follow symlinks that resolve outside its path; by default such a link is a load error, since it could serve any file the server can read"},
		},
	}
}

// Settings is an entry of registry.sources of type filesystem.
type Settings struct {
	Name                  string `yaml:"name"`
	Path                  string `yaml:"path"` // relative to the configuration file's folder
	FollowSymlinksOutside bool   `yaml:"follow_symlinks_outside"`
}

// Resolve makes Path relative to the configuration's folder.
func (s *Settings) Resolve(dir string) {
	if s.Path != "" && !filepath.IsAbs(s.Path) {
		s.Path = filepath.Join(dir, s.Path)
	}
}

// Check needs a path.
func (s *Settings) Check(func(string) string) []source.Problem {
	if s.Path == "" {
		return []source.Problem{{Msg: "a filesystem source needs a path"}}
	}
	return nil
}

// Shown is the name and the path.
func (s *Settings) Shown() (name, location string) { return s.Name, s.Path }

// Open makes the source, watched as deps say.
func (s *Settings) Open(order int, deps source.Deps) (registry.Source, error) {
	return New(Config{Name: s.Name, Path: s.Path, Watch: deps.Watch, FollowSymlinksOutside: s.FollowSymlinksOutside, Loader: deps.Loader}, order, deps.Log)
}
