package registry

import (
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	tests := []struct {
		raw, want, secret string
	}{
		{"https://host/repo.git", "https://host/repo.git", ""},
		{"https://user:s3cret@host/repo.git", "https://user:xxxxx@host/repo.git", "s3cret"},
		{"https://ghp_TOKEN@host/repo.git", "https://xxxxx@host/repo.git", "ghp_TOKEN"},
		{"ssh://git@host/repo.git", "ssh://git@host/repo.git", ""},
		{"ssh://git:s3cret@host/repo.git", "ssh://git:xxxxx@host/repo.git", "s3cret"},
		{"git@host:org/repo.git", "git@host:org/repo.git", ""},
		// URLs that net/url refuses: the error about them quotes them.
		{"https://user:s3cret@host:port/repo.git", "https://user:xxxxx@host:port/repo.git", "s3cret"},
		{"https://user:s3 cr%zzet@host/x", "https://user:xxxxx@host/x", "s3 cr%zzet"},
		{"ftp://user:p@ss@host/x?a=b@c", "ftp://user:xxxxx@host/x?a=b@c", "p@ss"},
		{"user:s3cret@registry.example/repo:tag", "user:xxxxx@registry.example/repo:tag", "s3cret"},
		{"registry.example/repo@sha256:abcd", "registry.example/repo@sha256:abcd", ""},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			if got := RedactURL(tc.raw); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if got := URLSecret(tc.raw); got != tc.secret {
				t.Errorf("secret: got %q, want %q", got, tc.secret)
			}
			if tc.secret != "" && strings.Contains(RedactURL(tc.raw), tc.secret) {
				t.Errorf("%q still shows the secret", RedactURL(tc.raw))
			}
		})
	}
}
