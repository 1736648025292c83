package ocisource

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCredentialsOnlyToTheirHost checks that credentials, from a Docker
// config or from the source's own settings, reach the registry they are for
// and no other: not another registry that asks for credentials of its own,
// not the host a blob download is redirected to.
func TestCredentialsOnlyToTheirHost(t *testing.T) {
	const user, password = "ci", "s3cret-token"
	private, other, mirror := startRegistry(t), startRegistry(t), startRegistry(t)
	layers := []Layer{layer(t, id1, "1.0.0")}
	privRef, otherRef := private.Addr+"/acme/tasks:stable", other.Addr+"/acme/tasks:stable"
	push(t, privRef, layers...)
	push(t, otherRef, layers...)
	push(t, mirror.Addr+"/acme/tasks:stable", layers...)
	private.set(func(r *testRegistry) { r.user, r.password = user, password })
	other.set(func(r *testRegistry) { r.user, r.password = "someone", "else" })

	dockerConfig := filepath.Join(t.TempDir(), "config.json")
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	if err := os.WriteFile(dockerConfig, fmt.Appendf(nil, `{"auths": {%q: {"auth": %q}}}`, private.Addr, auth), 0o600); err != nil {
		t.Fatal(err)
	}
	basic := "Basic " + auth

	tests := []struct {
		name     string
		ref      string
		remote   Remote
		redirect bool   // the private registry sends blob downloads to the mirror
		wantErr  string // "" for a load
	}{
		{name: "docker config", ref: privRef, remote: Remote{DockerConfig: dockerConfig}},
		{name: "docker config, another registry", ref: otherRef, remote: Remote{DockerConfig: dockerConfig}, wantErr: "none are configured for " + other.Addr},
		{name: "username and password", ref: privRef, remote: Remote{Username: user, Password: password}},
		{name: "docker config, download redirected to another host", ref: privRef, remote: Remote{DockerConfig: dockerConfig}, redirect: true},
		{name: "username and password, download redirected to another host", ref: privRef, remote: Remote{Username: user, Password: password}, redirect: true},
		{name: "no credentials", ref: privRef, wantErr: "none are configured for " + private.Addr},
		{name: "wrong password", ref: privRef, remote: Remote{Username: user, Password: "wrong-" + password}, wantErr: "401"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			private.set(func(r *testRegistry) {
				r.redirect = ""
				if tc.redirect {
					r.redirect = mirror.Addr
				}
			})
			for _, r := range []*testRegistry{private, other, mirror} {
				r.take()
			}
			f := follow(t, Config{Ref: tc.ref, Remote: tc.remote})
			snap, err := f.poll(t)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), tc.ref)):
				t.Fatalf("got error %v, want one naming %s and saying %s", err, tc.ref, tc.wantErr)
			case tc.wantErr == "" && !slices.Equal(versions(snap), []string{"1 1.0.0"}):
				t.Fatalf("got %v, want the task", versions(snap))
			}
			privReqs, privAuths := private.take()
			otherReqs, otherAuths := other.take()
			mirrorReqs, mirrorAuths := mirror.take()
			if slices.Contains(otherAuths, basic) {
				t.Errorf("the other registry received the private registry's credentials (requests %v)", otherReqs)
			}
			if len(mirrorAuths) != 0 {
				t.Errorf("the mirror received credentials %q (requests %v)", mirrorAuths, mirrorReqs)
			}
			if tc.wantErr == "" && !slices.Contains(privAuths, basic) {
				t.Errorf("the private registry never received its credentials (requests %v)", privReqs)
			}
			if tc.redirect && count(mirrorReqs, "GET", "/blobs/") == 0 {
				t.Errorf("redirected download: the mirror served no blob (requests %v)", mirrorReqs)
			}
			if strings.Contains(f.log.String(), password) || (err != nil && strings.Contains(err.Error(), password)) {
				t.Errorf("the password shows in the logs or the error: %v\n%s", err, f.log)
			}
		})
	}
}
