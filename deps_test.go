package voxward_test

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/voxward/voxward"

// layering is ARCHITECTURE.md's table: which of our packages each package
// may import, and why. Rules are checked in order and the first whose pkg
// is the package or one of its parents applies, so sub-packages with their
// own rule come before their parent's. A package not listed may import
// anything of ours but cmd/...
var layering = []struct {
	pkg     string
	allowed []string
	stdOnly bool
	why     string
}{
	{pkg: "dsp/voiceprint/train", allowed: []string{"dsp", "dsp/voiceprint", "dsp/voiceprint/tdnn", "dsp/voiceprint/eval", "capture"},
		why: "training is offline: the model, its evaluation (metrics, channels) and capture's WAV reader"},
	{pkg: "dsp/voiceprint/eval", allowed: []string{"dsp", "dsp/voiceprint", "dsp/voiceprint/tdnn", "capture"},
		why: "evaluation is offline: the model and capture's WAV reader, never the training recipe"},
	{pkg: "dsp/voiceprint/peers", allowed: []string{"dsp", "dsp/voiceprint", "dsp/voiceprint/tdnn", "dsp/voiceprint/eval", "dsp/voiceprint/train", "capture"},
		why: "the classical peers are measured by eval and grow their UBM with train's recipe"},
	{pkg: "dsp/voiceprint/tdnn", stdOnly: true,
		why: "the neural extractor's network: the standard library only; the model runs it and the training recipe trains it, never the reverse"},
	{pkg: "dsp/voiceprint", allowed: []string{"dsp", "dsp/voiceprint/tdnn"}, stdOnly: true,
		why: "the speaker model the box runs: dsp and the standard library only"},
	{pkg: "dsp", stdOnly: true, why: "dsp is pure signal processing: standard library only, never the speaker model"},
	{pkg: "capture", allowed: []string{"dsp"}, why: "capture may use dsp for resampling, never the vault"},
	{pkg: "vault", why: "vault imports nothing of ours"},
	{pkg: "sync", why: "sync imports nothing of ours; it declares the interfaces it needs"},
	{pkg: "agent", allowed: []string{"dsp", "dsp/voiceprint", "dsp/voiceprint/tdnn", "capture", "vault", "sync"},
		why: "agent wires the lower layers and runs the shipped model; never the offline training, evaluation or peers"},
}

// ruleFor returns the index of the rule that governs the package at path
// (relative to the module), or -1.
func ruleFor(rel string) int {
	for i, r := range layering {
		if rel == r.pkg || strings.HasPrefix(rel, r.pkg+"/") {
			return i
		}
	}
	return -1
}

type listed struct {
	ImportPath string
	Standard   bool
	Deps       []string
}

// goList returns every package under prefix with its transitive deps.
func goList(t *testing.T, pattern string) []listed {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Standard,Deps", pattern)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pattern, err)
	}
	var pkgs []listed
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestDeps enforces the layering: dependencies point down,
// cmd → agent → {capture, sync, vault, dsp/voiceprint} → dsp, with the
// offline voiceprint packages (train, eval, peers) beside the model and
// never under the daemon.
func TestDeps(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("TestDeps needs the go command on PATH: %v", err)
	}
	touchSources(t)
	std := map[string]bool{}
	for _, p := range goList(t, "std") {
		std[p.ImportPath] = true
	}
	for _, p := range goList(t, module+"/...") {
		for _, msg := range layerViolations(p, std) {
			t.Error(msg)
		}
	}
}

// layerViolations lists what p imports against the layering.
func layerViolations(p listed, std map[string]bool) []string {
	var out []string
	rel := strings.TrimPrefix(p.ImportPath, module+"/")
	ri := ruleFor(rel)
	for _, d := range p.Deps {
		ours := strings.HasPrefix(d, module+"/") || d == module
		if ours && strings.HasPrefix(d, module+"/cmd/") && !strings.HasPrefix(rel, "cmd/") {
			out = append(out, fmt.Sprintf("%s imports %s: nothing imports cmd", p.ImportPath, d))
			continue
		}
		if ri < 0 {
			continue
		}
		rule := layering[ri]
		if ours {
			drel := strings.TrimPrefix(d, module+"/")
			if strings.HasPrefix(drel, "internal/") {
				continue
			}
			if ruleFor(drel) == ri && (drel == rule.pkg || strings.HasPrefix(drel, rule.pkg+"/")) {
				continue // the package's own sub-packages under the same rule
			}
			if !slices.Contains(rule.allowed, drel) {
				out = append(out, fmt.Sprintf("%s imports %s: %s", p.ImportPath, d, rule.why))
			}
			continue
		}
		if rule.stdOnly && !std[d] && !strings.HasPrefix(d, "vendor/") {
			out = append(out, fmt.Sprintf("%s imports %s: %s", p.ImportPath, d, rule.why))
		}
	}
	return out
}

// TestDepsCatchesForbiddenImports shows that the check bites: a daemon
// package that reached the training recipe, a dsp package that reached the
// speaker model, and a model that reached capture are each reported.
func TestDepsCatchesForbiddenImports(t *testing.T) {
	std := map[string]bool{"fmt": true}
	for _, c := range []struct{ pkg, dep string }{
		{"agent", "dsp/voiceprint/train"},
		{"agent", "dsp/voiceprint/eval"},
		{"agent", "dsp/voiceprint/peers"},
		{"dsp", "dsp/voiceprint"},
		{"dsp/voiceprint", "capture"},
		{"dsp/voiceprint/eval", "dsp/voiceprint/train"},
		{"dsp/voiceprint/tdnn", "dsp/voiceprint"},
		{"dsp/voiceprint/tdnn", "dsp/voiceprint/train"},
		{"vault", "dsp"},
		{"capture", "vault"},
		{"agent", "cmd/voxward"},
	} {
		p := listed{ImportPath: module + "/" + c.pkg, Deps: []string{"fmt", module + "/" + c.dep}}
		if got := layerViolations(p, std); len(got) == 0 {
			t.Errorf("%s importing %s was not reported", c.pkg, c.dep)
		}
	}
	for _, c := range []struct{ pkg, dep string }{
		{"agent", "dsp/voiceprint"},
		{"dsp/voiceprint/train", "dsp/voiceprint/eval"},
		{"dsp/voiceprint", "dsp"},
		{"cmd/voxward", "dsp/voiceprint/train"},
	} {
		p := listed{ImportPath: module + "/" + c.pkg, Deps: []string{"fmt", module + "/" + c.dep}}
		if got := layerViolations(p, std); len(got) != 0 {
			t.Errorf("%s importing %s is allowed, got %q", c.pkg, c.dep, got)
		}
	}
	// A third-party import in a standard-library-only package.
	p := listed{ImportPath: module + "/dsp/voiceprint", Deps: []string{"github.com/x/y"}}
	if got := layerViolations(p, std); len(got) == 0 {
		t.Error("dsp/voiceprint importing a third-party module was not reported")
	}
}

// touchSources stats every Go file and go.mod, so that go test's cache
// knows this test's result depends on them (it cannot see what the go list
// child process reads).
func touchSources(t *testing.T) {
	t.Helper()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, ".go") || d.Name() == "go.mod" {
			_, err = os.Stat(path)
		}
		return err
	})
	if err != nil {
		t.Fatalf("walk sources: %v", err)
	}
}
