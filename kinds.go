package main

import (
	"context"

	"github.com/ratchet-tasks/ratchet-registry/registry/fssource"
	"github.com/ratchet-tasks/ratchet-registry/registry/gitsource"
	"github.com/ratchet-tasks/ratchet-registry/registry/httpsource"
	"github.com/ratchet-tasks/ratchet-registry/registry/ocisource"
	"github.com/ratchet-tasks/ratchet-registry/registry/source"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// This file is the only one of the program that names a source package
// (layout_test.go holds it to that). A new kind of source is its own
// package, exporting a source.Kind, and one line in kinds.

// kinds is the registration table of the kinds of source, in the order
// the configuration's messages list them.
func kinds() []source.Kind {
	return []source.Kind{
		fssource.Kind(),
		httpsource.Kind(),
		ocisource.Kind(),
		gitsource.Kind(),
	}
}

// pathEntry is the source of a PATH given on the command line: a task
// folder, a task .zip or a folder of either, read from the filesystem.
func pathEntry(path string) SourceEntry {
	return SourceEntry{Type: fssource.Kind().Type, Config: &fssource.Settings{Path: path}}
}

// pushTarget is where push publishes, and how it signs in.
type pushTarget struct {
	ref       string // REGISTRY/REPOSITORY:TAG
	plainHTTP bool
	username  string
	password  string
	getenv    func(string) string // for the Docker config, when username is empty
}

// checkPushTarget says whether push can publish to ref.
func checkPushTarget(ref string) error { return ocisource.CheckTag(ref) }

// pushed is what push did.
type pushed struct {
	digest            string
	uploaded, present int
}

// publish pushes the bundles of an index to an OCI registry as one
// artifact, one layer per task version.
func publish(ctx context.Context, to pushTarget, idx taskformat.Index, bundles map[string]taskformat.Bundle) (pushed, error) {
	layers := make([]ocisource.Layer, 0, len(idx.Tasks))
	for _, e := range idx.Tasks {
		layers = append(layers, ocisource.Layer{ID: e.ID, Version: e.Version, Zip: bundles[e.Bundle].Data})
	}
	remote := ocisource.Remote{PlainHTTP: to.plainHTTP, Username: to.username, Password: to.password,
		DockerConfig: ocisource.DockerConfigPath(to.getenv), UserAgent: ocisource.UserAgent}
	p, err := ocisource.Push(ctx, to.ref, remote, layers)
	if err != nil {
		return pushed{}, err
	}
	return pushed{digest: p.Manifest.Digest.String(), uploaded: p.Uploaded, present: p.Present}, nil
}
