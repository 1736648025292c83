package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// logFormat is the global --log-format option, which every command's flag
// set carries, so that it may stand before or after the command.
type logFormat string

func (f *logFormat) String() string {
	if f == nil || *f == "" {
		return "text"
	}
	return string(*f)
}

func (f *logFormat) Set(s string) error {
	if s != "text" && s != "json" {
		return fmt.Errorf("is %q: want text or json", s)
	}
	*f = logFormat(s)
	return nil
}

// newLogger makes the logger that fs's --log-format asks for.
func newLogger(fs *flag.FlagSet, w io.Writer) *slog.Logger {
	if fs.Lookup("log-format").Value.String() == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// newFlagSet makes a command's flag set. Its usage prints the synopsis,
// what the command does and its options; every command shares it, so that
// `CMD -h`, `CMD --help` and `help CMD` read the same everywhere.
func newFlagSet(name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Var(new(logFormat), "log-format", "format of the log on stderr: `text|json`")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: ratchet-registry %s %s\n", name, synopsis)
		if about != "" {
			fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(about))
		}
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(w, "\noptions:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseArgs parses args with fs, taking flags wherever they stand:
// before, between or after the positional arguments, as in
// `serve PATH --addr HOST:PORT`. Everything after `--` is positional. An
// argument that looks like a flag but is not one of fs's is an error, never
// a path. It returns the positional arguments in order; -h and --help
// return flag.ErrHelp.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard) // errors are printed once, by usageError
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := fs.Lookup(name)
		switch {
		case f == nil && (name == "h" || name == "help"):
			return nil, flag.ErrHelp
		case f == nil:
			return nil, fmt.Errorf("unknown flag %s (a path that starts with - goes after --)", a)
		}
		flags = append(flags, a)
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); hasValue || ok && b.IsBoolFlag() {
			continue
		}
		if i+1 == len(args) {
			return nil, fmt.Errorf("flag %s needs a value", a)
		}
		i++
		flags = append(flags, args[i])
	}
	if err := fs.Parse(flags); err != nil {
		return nil, err
	}
	return positional, nil
}

// usageError ends a command whose arguments are wrong: it says what is
// wrong, then how to call the command, and returns exit status 2. For
// flag.ErrHelp it prints the usage on stdout and returns 0, as a user who
// asked for help did nothing wrong.
func usageError(fs *flag.FlagSet, err error, stdout, stderr io.Writer) int {
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
		return 0
	}
	// The synopsis is enough after an error; the rest would bury it.
	var usage strings.Builder
	fs.SetOutput(&usage)
	fs.Usage()
	synopsis, _, _ := strings.Cut(usage.String(), "\n")
	fmt.Fprintf(stderr, "ratchet-registry %s: %v\n%s\n(ratchet-registry help %s tells more)\n", fs.Name(), err, synopsis, fs.Name())
	return 2
}
