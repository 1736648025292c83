package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// runPush validates a task tree as index does, then publishes it to an OCI
// registry as one catalogue artifact, like `helm push` or `oras push`.
func runPush(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("push", "[--plain-http] [--username USER --password-env VAR] PATH... REGISTRY/REPOSITORY:TAG",
		"Checks the tasks under each PATH as index does, then publishes them to an OCI\nregistry as one artifact (one layer per task version) tagged TAG, which\nregistries follow with a source of type oci. A tree with any problem is\nrefused, and its problems printed. Layers the registry has are not sent\nagain. Credentials: --username with --password-env, or else those of the\nDocker config and credential store ($DOCKER_CONFIG or ~/.docker), as\n`docker login` and `oras login` leave them.")
	plainHTTP := fs.Bool("plain-http", false, "talk HTTP, not HTTPS (a registry on loopback)")
	username := fs.String("username", "", "`user` name for the registry")
	passwordEnv := fs.String("password-env", "", "environment `variable` holding the password or token for --username")
	positional, err := parseArgs(fs, args)
	if err != nil {
		return usageError(fs, err, stdout, stderr)
	}
	if len(positional) < 2 {
		return usageError(fs, errors.New("give the task PATHs, then the REGISTRY/REPOSITORY:TAG to push to"), stdout, stderr)
	}
	paths, target := positional[:len(positional)-1], positional[len(positional)-1]
	if err := checkPushTarget(target); err != nil {
		return usageError(fs, err, stdout, stderr)
	}
	to := pushTarget{ref: target, plainHTTP: *plainHTTP, username: *username, getenv: os.Getenv}
	if *passwordEnv != "" {
		if to.password = os.Getenv(*passwordEnv); to.password == "" {
			return usageError(fs, fmt.Errorf("--password-env names %s, which is not set", *passwordEnv), stdout, stderr)
		}
	}
	if (to.username == "") != (to.password == "") {
		return usageError(fs, errors.New("--username and --password-env go together"), stdout, stderr)
	}

	snap, problems := loadPaths(ctx, paths)
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(stderr, p)
		}
		fmt.Fprintf(stderr, "nothing pushed: %s in %s\n", plural(len(problems), "problem"), strings.Join(paths, ", "))
		return 1
	}
	warned := printWarnings(stderr, snap)
	idx, bundles, err := taskformat.BundleAll(snap)
	if err != nil {
		fmt.Fprintf(stderr, "push: %v\n", err)
		return 1
	}
	done, err := publish(ctx, to, idx, bundles)
	if err != nil {
		fmt.Fprintf(stderr, "push: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "pushed %s@%s: %s, %d uploaded, %d already there%s\n",
		target, done.digest, plural(len(idx.Tasks), "task version"), done.uploaded, done.present, warned)
	return 0
}
