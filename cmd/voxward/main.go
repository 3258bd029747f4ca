// Command voxward is the one binary of the voxward edge capture agent:
// "voxward serve" runs the daemon, every other subcommand is the CLI for
// admins, technicians and offline work. Run "voxward help" for the list.
//
// Exit status: 0 on success, 1 for bad input (a malformed file, a failed
// check), 2 for bad usage (an unknown flag or command).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand. run gets the arguments after the command name.
type command struct {
	name    string
	summary string // one line for "voxward help"
	run     func(ctx context.Context, io *stdio, args []string) error
}

// stdio is where a command reads and writes; tests substitute buffers.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// commands is filled by register calls in each command's file.
var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("voxward: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// usageError marks bad usage: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes one command line and returns the process exit status.
func run(ctx context.Context, sio *stdio, args []string) int {
	if len(args) == 0 {
		printHelp(sio.err)
		return 2
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				return run(ctx, sio, []string{c.name, "--help"})
			}
		}
		printHelp(sio.out)
		return 0
	case "version", "-version", "--version":
		fmt.Fprintln(sio.out, versionLine())
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(sio.err, "voxward: unknown command %q; run \"voxward help\" for the list\n", name)
		return 2
	}
	err := c.run(ctx, sio, args[1:])
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(sio.err, "voxward %s: %v\n", name, err)
		return 2
	default:
		fmt.Fprintf(sio.err, "voxward %s: %v\n", name, err)
		return 1
	}
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `voxward — edge capture agent for venue captioning boxes.

It opens the microphone only while a speaker's written consent is in force,
computes voiceprints with its own DSP core, keeps everything in an encrypted
vault and shares only de-identified data.

Usage: voxward COMMAND [flags] [args]

Commands:
`)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, `
"voxward COMMAND --help" tells the whole story of one command;
"voxward --version" prints the build and the voiceprint model.
Exit status: 0 success, 1 bad input or a failed check, 2 bad usage.
`)
}

// newFlags returns a flag set whose usage text starts with synopsis and the
// description, then lists the flags.
func newFlags(sio *stdio, name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(sio.err)
	fs.Usage = func() {
		fmt.Fprintf(sio.out, "Usage: voxward %s\n\n%s\n", synopsis, strings.TrimSpace(description))
		var any bool
		fs.VisitAll(func(*flag.Flag) { any = true })
		if any {
			fmt.Fprint(sio.out, "\nFlags:\n")
			fs.SetOutput(sio.out)
			fs.PrintDefaults()
			fs.SetOutput(sio.err)
		}
	}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments
// ("voxward features fbank X.wav --num-mel-bins 40"); "--" ends the flags.
// It returns the positional arguments. A parse error is a usage error.
// The full usage goes to stdout for --help only; a parse error is one line
// on stderr with a pointer to --help.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	defer func() { fs.Usage = usage; fs.SetOutput(out) }()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				usage()
				return nil, err
			}
			return nil, &usageError{msg: fmt.Sprintf("%v (see voxward %s --help)", err, fs.Name())}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
