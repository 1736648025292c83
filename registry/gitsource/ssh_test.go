package gitsource

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshServer is a real SSH server on 127.0.0.1:0 that does what sshd does
// for git: it runs git-upload-pack for the command the client sends, over
// the session's channel. It lets in one key only.
type sshServer struct {
	addr    string
	hostKey ssh.PublicKey
}

// knownHosts is a known_hosts line that says addr's key is key.
func knownHosts(addr string, key ssh.PublicKey) string {
	return knownhosts.Line([]string{knownhosts.Normalize(addr)}, key) + "\n"
}

func newSSHServer(tb testing.TB, root string, allowed ssh.PublicKey) *sshServer {
	tb.Helper()
	exe := gitBinary(tb)
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	hostKey, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if string(k.Marshal()) != string(allowed.Marshal()) {
			return nil, errUnknownKey
		}
		return nil, nil
	}}
	cfg.AddHostKey(hostKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				serveSSHConn(c, cfg, exe, root)
			}()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return &sshServer{addr: ln.Addr().String(), hostKey: hostKey.PublicKey()}
}

type sshError string

func (e sshError) Error() string { return string(e) }

const errUnknownKey = sshError("key not allowed")

func serveSSHConn(c net.Conn, cfg *ssh.ServerConfig, exe, root string) {
	defer c.Close()
	sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "session only")
			continue
		}
		ch, requests, err := nc.Accept()
		if err != nil {
			return
		}
		for req := range requests {
			if req.Type != "exec" || len(req.Payload) < 4 {
				req.Reply(false, nil) // env and the like: not needed
				continue
			}
			req.Reply(true, nil)
			// "git-upload-pack '/tasks.git'", as git and go-git send it.
			command := string(req.Payload[4:])
			_, arg, _ := strings.Cut(command, " ")
			cmd := exec.Command(exe, "upload-pack", filepath.Join(root, strings.Trim(arg, "'")))
			cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
			code := uint32(0)
			if err := cmd.Run(); err != nil {
				code = 1
			}
			status := make([]byte, 4)
			binary.BigEndian.PutUint32(status, code)
			ch.SendRequest("exit-status", false, status)
			ch.Close()
			break
		}
	}
}

// clientKey writes a new private key as ssh-keygen would and returns its
// file and public half.
func clientKey(tb testing.TB) (string, ssh.PublicKey) {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		tb.Fatal(err)
	}
	p := filepath.Join(tb.TempDir(), "id_ed25519")
	if err := os.WriteFile(p, pem.EncodeToMemory(block), 0o600); err != nil {
		tb.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	return p, sp
}
