package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

// runVersion prints what the binary was built from. Builds without
// version control stamps (go build -buildvcs=false, as CI sets in GOFLAGS)
// say "unknown" rather than guess.
func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", "", "Prints the module version, the commit the binary was built from, whether\nthe tree had uncommitted changes, and the Go version.")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return usageError(fs, err, stdout, stderr)
	}
	if len(rest) > 0 {
		return usageError(fs, fmt.Errorf("version takes no arguments, got %q", rest[0]), stdout, stderr)
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintln(stdout, "ratchet-registry: no build information in this binary")
		return 0
	}
	fmt.Fprint(stdout, versionText(info))
	return 0
}

// versionText renders build information, one fact a line.
func versionText(info *debug.BuildInfo) string {
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	version := info.Main.Version
	if version == "" || version == "(devel)" {
		version = "(devel): built from a source tree, not a tagged module"
	}
	commit, modified := "unknown (built without VCS information; go build -buildvcs=true stamps it)", "unknown"
	if rev := settings["vcs.revision"]; rev != "" {
		commit = rev
		if t := settings["vcs.time"]; t != "" {
			commit += " (" + t + ")"
		}
		modified = map[string]string{"true": "yes, with uncommitted changes", "false": "no"}[settings["vcs.modified"]]
	}
	return fmt.Sprintf("ratchet-registry %s\ncommit:   %s\nmodified: %s\ngo:       %s\n", version, commit, modified, info.GoVersion)
}
