package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runCLI runs one command line in-process and returns its exit status,
// stdout and stderr.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), &stdio{in: strings.NewReader(stdin), out: &out, err: &errb}, args)
	return code, out.String(), errb.String()
}

func TestHelpAndUsage(t *testing.T) {
	code, out, _ := runCLI(t, "", "help")
	if code != 0 || !strings.Contains(out, "features") || !strings.Contains(out, "bench") {
		t.Fatalf("voxward help = %d %q, want 0 and the command list", code, out)
	}
	if code, _, errs := runCLI(t, "", "frobnicate"); code != 2 || !strings.Contains(errs, "unknown command") {
		t.Fatalf("unknown command = %d %q, want 2", code, errs)
	}
	if code, _, _ := runCLI(t, ""); code != 2 {
		t.Fatalf("no command = %d, want 2", code)
	}
	for name := range commands {
		code, out, _ := runCLI(t, "", name, "--help")
		if code != 0 || !strings.Contains(out, "Usage: voxward "+name) {
			t.Errorf("voxward %s --help = %d %q, want 0 and a usage line", name, code, out)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version"} {
		code, out, _ := runCLI(t, "", arg)
		if code != 0 || !strings.HasPrefix(out, "voxward ") || !strings.Contains(out, "voiceprint model gsv") && !strings.Contains(out, "voiceprint model none") {
			t.Errorf("voxward %s = %d %q, want 0 and the build and model", arg, code, out)
		}
	}
}
