package registry

import (
	"errors"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// ParseVersion accepts SemVer 2.0.0 exactly. A leading "v" is the most
// common mistake, so it gets a message that says what to do.
func ParseVersion(s string) (*semver.Version, error) {
	if s == "" {
		return nil, errors.New("version is empty")
	}
	if s[0] == 'v' || s[0] == 'V' {
		if _, err := strictVersion(s[1:]); err == nil {
			return nil, fmt.Errorf("version %q has a leading %q: drop it and write %q", s, s[:1], s[1:])
		}
	}
	v, err := strictVersion(s)
	if err != nil {
		return nil, fmt.Errorf("version %q is not SemVer 2.0.0 (like 1.2.0 or 2.0.0-rc.1): %w", s, err)
	}
	return v, nil
}

func strictVersion(s string) (*semver.Version, error) {
	return Guard("parse the version", func() (*semver.Version, error) { return semver.StrictNewVersion(s) })
}

// compareVersions orders by SemVer precedence; build metadata does not
// count for precedence, so ties fall back to the string to stay total.
func compareVersions(a, b *Task) int {
	if c := a.semver.Compare(b.semver); c != 0 {
		return c
	}
	return strings.Compare(a.Version, b.Version)
}

// pickLatest returns the highest stable version, or the highest
// pre-release when there is no stable one. vs is in ascending order.
func pickLatest(vs []*Task) *Task {
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].semver.Prerelease() == "" {
			return vs[i]
		}
	}
	if len(vs) == 0 {
		return nil
	}
	return vs[len(vs)-1]
}
