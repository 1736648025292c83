// Package ocisource keeps a catalogue in an OCI registry: a source that
// follows an artifact whose layers are task zips, and Push, which publishes
// one. The artifact is plain OCI, so oras, crane or any registry UI can list,
// copy and pull it.
package ocisource

import (
	"path"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The names that make an artifact a Ratchet catalogue. They are part of the
// published format: do not rename.
const (
	ArtifactType      = "application/vnd.ratchet.catalogue.v1"
	MediaTypeTask     = "application/vnd.ratchet.task.v1+zip"
	AnnotationUUID    = "dev.ratchet.task.uuid"
	AnnotationVersion = "dev.ratchet.task.version"
)

// mediaTypeZip is what `oras push file.zip:application/zip` gives a layer.
const mediaTypeZip = "application/zip"

// isTaskLayer says whether a layer is a task zip: one of ours, a zip by its
// media type, or a file pushed by `oras push x.zip` without a media type,
// which oras marks as a generic layer named by its title.
func isTaskLayer(l ocispec.Descriptor) bool {
	switch l.MediaType {
	case MediaTypeTask, mediaTypeZip:
		return true
	case ocispec.MediaTypeImageLayer:
		// oras adds this annotation to folders it packed as tarballs.
		if _, packed := l.Annotations["io.deis.oras.content.unpack"]; packed {
			return false
		}
		return strings.EqualFold(path.Ext(l.Annotations[ocispec.AnnotationTitle]), ".zip")
	}
	return false
}

// rootOf is a layer's task root key: its title, which stays the same from
// one push to the next (so an unchanged task keeps its place in conflict
// order), or its digest when it has none.
func rootOf(l ocispec.Descriptor) string {
	if t := l.Annotations[ocispec.AnnotationTitle]; t != "" && !strings.ContainsAny(t, "\x00\n") {
		return t
	}
	return l.Digest.String()
}
