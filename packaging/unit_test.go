package packaging_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/vault"
)

// maxExposure is the highest "systemd-analyze security" exposure the unit
// may have (0 is locked down, 10 is unprotected).
const maxExposure = 2.0

// installedBinary is ExecStart's program in voxward.service.
const installedBinary = "/usr/bin/voxward"

// dropins are the optional drop-ins docs/systemd.md offers; every test of
// the unit runs with each of them as well as without.
var dropins = []string{"encrypted-key.conf", "lan-sync.conf"}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// systemdTool finds a systemd command. Without it the test fails under
// CI=true (CI must run these checks) and is skipped otherwise; both say
// how to install it.
func systemdTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	missing(t, fmt.Sprintf("%s not found (%v): apt-get install -y systemd", name, err))
	return ""
}

func missing(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// analyze returns systemd-analyze, which must be systemd 250 or later
// (security --offline).
func analyze(t *testing.T) string {
	t.Helper()
	path := systemdTool(t, "systemd-analyze")
	out, err := exec.Command(path, "--version").Output()
	require.NoError(t, err)
	m := regexp.MustCompile(`^systemd (\d+)`).FindSubmatch(out)
	require.NotNil(t, m, "systemd-analyze --version = %q", out)
	if v, _ := strconv.Atoi(string(m[1])); v < 250 {
		missing(t, fmt.Sprintf("systemd %d is too old for security --offline (250 or later): apt-get install -y systemd", v))
	}
	return path
}

var (
	binDir   string
	buildBin = sync.OnceValues(func() (string, error) {
		dir, err := os.MkdirTemp("", "voxward-unit")
		if err != nil {
			return "", err
		}
		binDir = dir
		bin := filepath.Join(dir, "voxward")
		cmd := exec.Command("go", "build", "-o", bin, "github.com/voxward/voxward/cmd/voxward")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build: %w\n%s", err, out)
		}
		return bin, nil
	})
)

// voxward builds the daemon (without PortAudio) once per test run.
func voxward(t *testing.T) string {
	t.Helper()
	bin, err := buildBin()
	require.NoError(t, err)
	return bin
}

// stage writes the unit into a new directory with ExecStart pointing at
// bin, after edit (if not nil) has changed its text, and copies the named
// drop-ins into voxward.service.d/ beside it, where systemd-analyze reads
// them. It returns the unit's path.
func stage(t *testing.T, bin string, edit func(string) string, extra ...string) string {
	t.Helper()
	raw, err := os.ReadFile("voxward.service")
	require.NoError(t, err)
	text := string(raw)
	require.Equal(t, 1, strings.Count(text, "ExecStart="+installedBinary+" "), "the unit should start %s once", installedBinary)
	text = strings.Replace(text, "ExecStart="+installedBinary+" ", "ExecStart="+bin+" ", 1)
	if edit != nil {
		text = edit(text)
	}
	dir := t.TempDir()
	unit := filepath.Join(dir, "voxward.service")
	require.NoError(t, os.WriteFile(unit, []byte(text), 0o644))
	if len(extra) > 0 {
		d := filepath.Join(dir, "voxward.service.d")
		require.NoError(t, os.Mkdir(d, 0o755))
		for _, name := range extra {
			b, err := os.ReadFile(filepath.Join("dropin", name))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(d, name), b, 0o644))
		}
	}
	return unit
}

// verify runs "systemd-analyze verify" on a unit. systemd-analyze exits 0
// on most mistakes (an unknown directive, a bad value: it ignores the line
// and warns), so any output at all is an error too.
func verify(tool, unit string) error {
	out, err := exec.Command(tool, "verify", "--man=no", unit).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemd-analyze verify %s: %w\n%s", unit, err, out)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		return fmt.Errorf("systemd-analyze verify %s warned:\n%s", unit, s)
	}
	return nil
}

// variants are the unit alone and with each drop-in.
func variants() [][]string {
	v := [][]string{nil}
	for _, d := range dropins {
		v = append(v, []string{d})
	}
	return v
}

func variantName(extra []string) string {
	if len(extra) == 0 {
		return "unit"
	}
	return "unit+" + strings.Join(extra, "+")
}

func TestUnitVerifies(t *testing.T) {
	tool := analyze(t)
	bin := voxward(t)
	for _, extra := range variants() {
		t.Run(variantName(extra), func(t *testing.T) {
			assert.NoError(t, verify(tool, stage(t, bin, nil, extra...)))
		})
	}
}

// TestUnitVerifyCatchesMistakes shows that TestUnitVerifies fails on a
// broken unit: each edit is a mistake verify must report.
func TestUnitVerifyCatchesMistakes(t *testing.T) {
	tool := analyze(t)
	bin := voxward(t)
	for _, tc := range []struct {
		name     string
		from, to string
		want     string
	}{
		{"typo'd directive", "\nProtectHome=true\n", "\nProtectHom=true\n", "Unknown key 'ProtectHom'"},
		{"bad value", "\nType=notify\n", "\nType=notfy\n", "Failed to parse service type"},
		{"misspelt section", "\n[Service]\n", "\n[Servce]\n", "Unknown section 'Servce'"},
		{"no binary", "ExecStart=" + bin + " ", "ExecStart=" + bin + ".missing ", "is not executable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unit := stage(t, bin, func(s string) string {
				require.Contains(t, s, tc.from)
				return strings.Replace(s, tc.from, tc.to, 1)
			})
			err := verify(tool, unit)
			require.Error(t, err, "verify passed a unit with %s", tc.name)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

var overallRE = regexp.MustCompile(`Overall exposure level for \S+: (\d+\.\d+)`)

// exposure runs "systemd-analyze security --offline=true" on a unit and
// returns the overall exposure and the report.
func exposure(t *testing.T, tool, unit string) (float64, string) {
	t.Helper()
	out, err := exec.Command(tool, "security", "--offline=true", unit).CombinedOutput()
	require.NoError(t, err, "%s", out)
	m := overallRE.FindSubmatch(out)
	require.NotNil(t, m, "no overall exposure in:\n%s", out)
	score, err := strconv.ParseFloat(string(m[1]), 64)
	require.NoError(t, err)
	return score, string(out)
}

// exposed lists the report's lines that add to the exposure.
func exposed(report string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(report))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "✗") {
			b.WriteString(sc.Text() + "\n")
		}
	}
	return b.String()
}

func TestUnitExposure(t *testing.T) {
	tool := analyze(t)
	bin := voxward(t)
	for _, extra := range variants() {
		t.Run(variantName(extra), func(t *testing.T) {
			score, report := exposure(t, tool, stage(t, bin, nil, extra...))
			t.Logf("systemd-analyze security --offline=true: exposure %.1f (at most %.1f)", score, maxExposure)
			assert.LessOrEqual(t, score, maxExposure, "exposure %.1f above %.1f; the settings that add to it:\n%s", score, maxExposure, exposed(report))
		})
	}
}

// directives reads a unit file's Key=Value lines, in order, ignoring
// comments and section headers.
func directives(t *testing.T, path string) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	d := map[string][]string{}
	for line := range strings.Lines(string(raw)) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, "%s: %q is not Key=Value", path, line)
		d[k] = append(d[k], v)
	}
	return d
}

// TestUnitMatchesDaemon checks the settings the daemon's code relies on.
func TestUnitMatchesDaemon(t *testing.T) {
	d := directives(t, "voxward.service")
	assert.Equal(t, []string{"notify"}, d["Type"], "serve sends READY=1 and STOPPING=1")
	assert.Equal(t, []string{"main"}, d["NotifyAccess"])
	require.Len(t, d["WatchdogSec"], 1)
	assert.NotEqual(t, "0", d["WatchdogSec"][0], "serve pings the watchdog")
	require.Len(t, d["LoadCredential"], 1)
	assert.Equal(t, vault.CredentialName+":/etc/voxward/master.key", d["LoadCredential"][0],
		"the credential must carry the name the vault looks for")
	enc := directives(t, filepath.Join("dropin", "encrypted-key.conf"))
	assert.Equal(t, []string{""}, enc["LoadCredential"], "the drop-in resets the plaintext credential")
	assert.Equal(t, []string{vault.CredentialName + ":/etc/voxward/master.key.cred"}, enc["LoadCredentialEncrypted"])
	assert.Equal(t, []string{"voxward"}, d["StateDirectory"])

	raw, err := os.ReadFile("voxward.sysusers")
	require.NoError(t, err)
	require.Len(t, d["User"], 1)
	assert.Regexp(t, `(?m)^u `+regexp.QuoteMeta(d["User"][0])+` `, string(raw), "sysusers.d must create the unit's User=")
}

// TestUnitCommandLine runs ExecStart's command line, with the shipped
// voxward.toml, against the binary: the flags must exist and the file must
// load. Without a vault and without PortAudio the daemon then stops at the
// first thing it cannot do.
func TestUnitCommandLine(t *testing.T) {
	bin := voxward(t)
	d := directives(t, "voxward.service")
	require.Len(t, d["ExecStart"], 1)
	argv := strings.Fields(d["ExecStart"][0])
	require.Equal(t, installedBinary, argv[0])
	state := filepath.Join(t.TempDir(), "state")
	require.NoError(t, os.Mkdir(state, 0o700))
	conf, err := filepath.Abs("voxward.toml")
	require.NoError(t, err)
	args := make([]string, 0, len(argv))
	for _, a := range argv[1:] {
		switch a {
		case "${STATE_DIRECTORY}":
			a = state
		case "/etc/voxward/voxward.toml":
			a = conf
		}
		args = append(args, a)
	}
	require.Contains(t, args, conf, "ExecStart should pass --config /etc/voxward/voxward.toml")
	require.Contains(t, args, state, "ExecStart should pass --state-dir ${STATE_DIRECTORY}")

	for _, tc := range []struct {
		name  string
		extra []string
		want  string
	}{
		// The shipped file asks for the microphone; this build has none.
		{"as installed", nil, "built without PortAudio"},
		// With a source this build has, it gets as far as the vault.
		{"with a tone", []string{"--source", "tone"}, "no vault at " + filepath.Join(state, vault.VaultFile)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, append(args, tc.extra...)...)
			cmd.Env = append(os.Environ(), "CREDENTIALS_DIRECTORY=")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			require.True(t, errors.As(err, &exit), "voxward %v = %v, want exit status 1", args, err)
			assert.Equal(t, 1, exit.ExitCode(), "exit status 2 is a usage error: %s", stderr.String())
			assert.Contains(t, stderr.String(), tc.want)
		})
	}
}

// TestSysusers dry-runs the sysusers.d file in an empty root.
func TestSysusers(t *testing.T) {
	tool := systemdTool(t, "systemd-sysusers")
	conf, err := filepath.Abs("voxward.sysusers")
	require.NoError(t, err)
	root := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root, "etc"), 0o755))
	out, err := exec.Command(tool, "--dry-run", "--root="+root, conf).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "Creating user 'voxward'")
	assert.NotContains(t, string(out), "ignoring")
}
