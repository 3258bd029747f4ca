package voxward_test

import (
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/voxward/voxward"

// layering is ARCHITECTURE.md's table: which of our packages each package
// may import, and why. A package not listed may import anything of ours but
// cmd/...
var layering = []struct {
	pkg     string
	allowed []string
	stdOnly bool
	why     string
}{
	{pkg: "dsp", stdOnly: true, why: "dsp is pure numeric kernels: standard library only"},
	{pkg: "capture", allowed: []string{"dsp"}, why: "capture may use dsp for resampling, never the vault"},
	{pkg: "vault", why: "vault imports nothing of ours"},
	{pkg: "sync", why: "sync imports nothing of ours; it declares the interfaces it needs"},
	{pkg: "agent", allowed: []string{"dsp", "capture", "vault", "sync"}, why: "agent wires the lower layers; nothing imports cmd"},
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
// cmd → agent → {capture, sync, vault} → dsp.
func TestDeps(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("TestDeps needs the go command on PATH: %v", err)
	}
	touchSources(t)
	std := map[string]bool{}
	for _, p := range goList(t, "std") {
		std[p.ImportPath] = true
	}
	for _, rule := range layering {
		for _, p := range goList(t, module+"/"+rule.pkg+"/...") {
			ok := map[string]bool{}
			for _, a := range rule.allowed {
				ok[module+"/"+a] = true
			}
			for _, d := range p.Deps {
				if strings.HasPrefix(d, module+"/") || d == module {
					under := d == module+"/"+rule.pkg || strings.HasPrefix(d, module+"/"+rule.pkg+"/")
					internal := strings.HasPrefix(d, module+"/internal/")
					if !under && !internal && !ok[d] && !ok[parentOf(d)] {
						t.Errorf("%s imports %s: %s", p.ImportPath, d, rule.why)
					}
					continue
				}
				if rule.stdOnly && !std[d] && !strings.HasPrefix(d, "vendor/") {
					t.Errorf("%s imports %s: %s", p.ImportPath, d, rule.why)
				}
			}
		}
	}
	// Nothing imports cmd.
	for _, p := range goList(t, module+"/...") {
		if strings.HasPrefix(p.ImportPath, module+"/cmd/") {
			continue
		}
		for _, d := range p.Deps {
			if strings.HasPrefix(d, module+"/cmd/") {
				t.Errorf("%s imports %s: nothing imports cmd", p.ImportPath, d)
			}
		}
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

// parentOf maps a sub-package to its top-level package, so that an allowed
// package's sub-packages (agent/api) are allowed too.
func parentOf(path string) string {
	rest := strings.TrimPrefix(path, module+"/")
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	return module + "/" + rest
}
