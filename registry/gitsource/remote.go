package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/utils/ioutil"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// remote is the repository as configured: the URL with any credentials
// in it (never shown), how to authenticate, and how it is shown.
type remote struct {
	url     string
	display string // the URL with credentials masked
	auth    transport.AuthMethod
	secrets []string // strings that must never appear in a message
	// client speaks the URL's protocol. For HTTP(S) it is the remote's
	// own, whose requests read a ref advertisement only up to a cap; for
	// the others, go-git's, looked up in its table and never written to.
	client transport.Transport
}

// DefaultMaxAdvertisementBytes bounds the refs that a remote may advertise
// over HTTP to one ls-remote or fetch: go-git decodes the whole
// advertisement into memory, and a remote sending refs without end would
// otherwise grow the server until the poll's timeout. 64 MiB holds the
// refs of the largest forges' repositories (pull request refs included)
// many times over.
const DefaultMaxAdvertisementBytes = 64 << 20

// scpLike is git's other spelling of ssh: user@host:path.
var scpLike = regexp.MustCompile(`^(?:[A-Za-z0-9._~-]+@)?[A-Za-z0-9.-]+:[^/\\]`)

// newRemote checks the URL and prepares its credentials. A token is
// sent as the password of HTTP basic auth, which is what GitHub, GitLab,
// Gitea and Bitbucket accept for access tokens; go-git sends it only to
// the URL's origin and drops it when a redirect leaves it. An HTTP(S)
// remote reads a ref advertisement up to maxAdvert bytes (0 for
// DefaultMaxAdvertisementBytes); packs are bounded where they are stored.
func newRemote(raw, token, sshKey, knownHosts string, maxAdvert int64) (*remote, error) {
	// Shown masked even when it does not parse, since the error says so.
	r := &remote{url: raw, display: registry.RedactURL(raw)}
	if token != "" {
		r.secrets = append(r.secrets, token)
	}
	if secret := registry.URLSecret(raw); secret != "" {
		r.secrets = append(r.secrets, raw, secret, url.PathEscape(secret))
	}
	scheme := ""
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && strings.Contains(raw, "://") {
		scheme = u.Scheme
		if u.User != nil {
			pass, hasPass := u.User.Password()
			switch {
			case hasPass:
				r.secrets = append(r.secrets, pass, url.PathEscape(pass))
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			case scheme == "http" || scheme == "https":
				// https://TOKEN@host/... is how tokens are often written.
				r.secrets = append(r.secrets, u.User.Username(), url.PathEscape(u.User.Username()))
				u.User = url.User("xxxxx")
			}
		}
		r.display = u.String()
	} else if scpLike.MatchString(raw) {
		scheme = "ssh"
	}
	switch scheme {
	case "http", "https":
		if maxAdvert <= 0 {
			maxAdvert = DefaultMaxAdvertisementBytes
		}
		r.client = githttp.NewClient(&http.Client{Transport: advertCap{base: http.DefaultTransport, max: maxAdvert}})
		if token != "" {
			r.auth = &githttp.BasicAuth{Username: "x-access-token", Password: token}
		}
	case "ssh":
		if sshKey != "" || knownHosts != "" {
			ep, err := transport.NewEndpoint(raw)
			if err != nil {
				return nil, r.mask(fmt.Errorf("url %s: %w", r.display, err))
			}
			user := ep.User
			if user == "" {
				user = "git"
			}
			var auth *gitssh.PublicKeys
			if sshKey != "" {
				auth, err = gitssh.NewPublicKeysFromFile(user, expandHome(sshKey), "")
				if err != nil {
					return nil, fmt.Errorf("ssh_key %s: %w", sshKey, err)
				}
			}
			if knownHosts != "" {
				cb, err := gitssh.NewKnownHostsCallback(expandHome(knownHosts))
				if err != nil {
					return nil, fmt.Errorf("ssh_known_hosts %s: %w", knownHosts, err)
				}
				if auth == nil {
					return nil, errors.New("ssh_known_hosts needs ssh_key")
				}
				auth.HostKeyCallback = cb
			}
			r.auth = auth
		}
	case "git", "file":
	default:
		return nil, fmt.Errorf("%q is not a git URL: want https://, http://, ssh://, user@host:path, git:// or file://", r.display)
	}
	if token != "" && scheme != "http" && scheme != "https" {
		return nil, fmt.Errorf("url %s: a token is sent over HTTP(S) only", r.display)
	}
	return r, nil
}

func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return home + "/" + rest
		}
	}
	return p
}

// mask removes every credential from an error's text. Errors from the
// transport can quote the URL they were asked for.
func (r *remote) mask(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	masked := strings.ReplaceAll(msg, r.url, r.display)
	for _, s := range r.secrets {
		if s != "" {
			masked = strings.ReplaceAll(masked, s, "xxxxx")
		}
	}
	if masked == msg {
		return err
	}
	return errors.New(masked)
}

// session opens a conversation with the remote's upload-pack: what both
// an ls-remote and a fetch begin with.
func (r *remote) session() (transport.UploadPackSession, error) {
	ep, err := transport.NewEndpoint(r.url)
	if err != nil {
		return nil, err
	}
	c := r.client
	if c == nil {
		if c, err = client.NewClient(ep); err != nil {
			return nil, err
		}
	}
	return c.NewUploadPackSession(ep, r.auth)
}

// list is `git ls-remote`: one request that reads the refs, nothing else;
// an annotated tag also gives its commit, as NAME^{}.
func (r *remote) list(ctx context.Context) (_ []*plumbing.Reference, err error) {
	s, err := r.session()
	if err != nil {
		return nil, r.mask(r.explain(err))
	}
	defer ioutil.CheckClose(s, &err)
	ar, err := s.AdvertisedReferencesContext(ctx)
	if err != nil {
		return nil, r.mask(r.explain(err))
	}
	all, err := ar.AllReferences()
	if err != nil {
		return nil, r.mask(err)
	}
	refs := make([]*plumbing.Reference, 0, len(all)+len(ar.Peeled))
	for _, ref := range all {
		refs = append(refs, ref)
	}
	for name, h := range ar.Peeled {
		refs = append(refs, plumbing.NewHashReference(plumbing.ReferenceName(name+"^{}"), h))
	}
	return refs, nil
}

// explain turns the transport's terse errors into what a user acts on.
func (r *remote) explain(err error) error {
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired) && r.auth != nil:
		return fmt.Errorf("%w: the credentials were refused", err)
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return fmt.Errorf("%w: the remote wants credentials (token_env, or ssh_key for ssh)", err)
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return fmt.Errorf("%w: the credentials were refused", err)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("%w (or it is private and the credentials do not reach it)", err)
	}
	return err
}

// resolved is the ref a source follows, as the remote has it now.
type resolved struct {
	name   plumbing.ReferenceName // what to fetch; the commit itself when ref is a hash
	commit plumbing.Hash          // the commit it points at, tags peeled
}

var fullHash = regexp.MustCompile(`^[0-9a-f]{40}$`)

// resolve finds ref among the remote's refs the way git does: a full
// name, then a branch, then a tag; "" is the remote's HEAD. A full commit
// hash is taken as it is: commits do not move.
func resolve(refs []*plumbing.Reference, ref string) (resolved, error) {
	byName := make(map[plumbing.ReferenceName]*plumbing.Reference, len(refs))
	for _, r := range refs {
		byName[r.Name()] = r
	}
	if fullHash.MatchString(ref) {
		if _, ok := byName[plumbing.ReferenceName(ref)]; !ok {
			h := plumbing.NewHash(ref)
			return resolved{name: plumbing.ReferenceName(ref), commit: h}, nil
		}
	}
	var candidates []plumbing.ReferenceName
	switch {
	case ref == "" || ref == "HEAD":
		candidates = []plumbing.ReferenceName{plumbing.HEAD}
	case strings.HasPrefix(ref, "refs/"):
		candidates = []plumbing.ReferenceName{plumbing.ReferenceName(ref)}
	default:
		candidates = []plumbing.ReferenceName{plumbing.NewBranchReferenceName(ref), plumbing.NewTagReferenceName(ref)}
	}
	for _, name := range candidates {
		r, ok := byName[name]
		for range 5 { // a symbolic ref (HEAD) points at another; follow a few
			if !ok || r.Type() != plumbing.SymbolicReference {
				break
			}
			name = r.Target()
			r, ok = byName[name]
		}
		if !ok {
			continue
		}
		commit := r.Hash()
		if peeled, ok := byName[plumbing.ReferenceName(string(name)+"^{}")]; ok {
			commit = peeled.Hash() // an annotated tag: serve the commit it names
		}
		return resolved{name: name, commit: commit}, nil
	}
	if ref == "" {
		return resolved{}, errors.New("the remote has no HEAD: set ref to a branch, tag or commit")
	}
	return resolved{}, fmt.Errorf("ref %q not found (branches: %s)", ref, branches(refs))
}

// branches lists a few branch names for an error message.
func branches(refs []*plumbing.Reference) string {
	var names []string
	for _, r := range refs {
		if r.Name().IsBranch() {
			names = append(names, r.Name().Short())
		}
	}
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	if len(names) > 5 {
		names = append(names[:5], fmt.Sprintf("and %d more", len(names)-5))
	}
	return strings.Join(names, ", ")
}

// errAdvertTooBig is wrapped when a remote advertises more than its cap.
var errAdvertTooBig = errors.New("ref advertisement too big")

// advertCap caps the body of the answer to GET .../info/refs, the ref
// advertisement of git's smart HTTP protocol.
type advertCap struct {
	base http.RoundTripper
	max  int64
}

func (a advertCap) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := a.base.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || !strings.HasSuffix(req.URL.Path, "/info/refs") {
		return resp, err
	}
	resp.Body = &cappedBody{rc: resp.Body, left: a.max, max: a.max}
	return resp, nil
}

type cappedBody struct {
	rc        io.ReadCloser
	left, max int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// At the cap: only the end of the body may follow.
		var one [1]byte
		if n, err := b.rc.Read(one[:]); n == 0 && err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("%w: the remote advertised over %d bytes of refs, the limit for one request", errAdvertTooBig, b.max)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }
