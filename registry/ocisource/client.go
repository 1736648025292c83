package ocisource

import (
	"fmt"
	"net/http"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
)

// Remote says how to reach a registry. Credentials go only to the
// registry's own host (oras-go also drops them on any redirect that leaves
// it); they are never part of an error or a log line.
type Remote struct {
	PlainHTTP bool // http:// instead of https://, for a registry on loopback
	Username  string
	Password  string
	// DockerConfig is the config.json whose credentials and credential
	// helpers are used when Username is empty, as docker, oras and helm use
	// them; "" uses none.
	DockerConfig string
	Timeout      time.Duration // one request; 0 means DefaultTimeout
	UserAgent    string
}

// manifestTypes are the manifests a catalogue can be: what oras and push
// write, and Docker's, which older tools write.
var manifestTypes = []string{ocispec.MediaTypeImageManifest, "application/vnd.docker.distribution.manifest.v2+json"}

// repository is a client for the repository that ref names, and the
// HTTP client under it, whose idle connections its owner closes when done.
func (r Remote) repository(ref string) (*remote.Repository, *http.Client, error) {
	repo, err := remote.NewRepository(ref)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", ref, err)
	}
	repo.PlainHTTP = r.PlainHTTP
	repo.ManifestMediaTypes = manifestTypes
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	hc := &http.Client{Timeout: timeout, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	client := &auth.Client{
		Client: hc,
		Cache:  auth.NewCache(),
		Header: http.Header{"User-Agent": {r.UserAgent}},
	}
	switch {
	case r.Username != "" || r.Password != "":
		client.Credential = auth.StaticCredential(repo.Reference.Registry, auth.Credential{Username: r.Username, Password: r.Password})
	case r.DockerConfig != "":
		store, err := credentials.NewStore(r.DockerConfig, credentials.StoreOptions{DetectDefaultNativeStore: true})
		if err != nil {
			return nil, nil, fmt.Errorf("docker credentials %s: %w", r.DockerConfig, err)
		}
		client.Credential = credentials.Credential(store)
	}
	repo.Client = client
	return repo, hc, nil
}
