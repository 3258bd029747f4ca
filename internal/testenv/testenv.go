// Package testenv finds what voxward's tests need from outside the
// repository. Production code never imports it.
package testenv

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
)

// RepoRoot returns the repository's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// SharedData returns the shared speech data directory: $VOXWARD_SHARED/data
// if set, else ../shared/data beside the repository. When it is absent the
// test is skipped with a message saying so, except in CI (CI=true), where
// the data is always present and its absence is a failure.
func SharedData(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(RepoRoot(), "..", "shared", "data")
	if s := os.Getenv("VOXWARD_SHARED"); s != "" {
		dir = filepath.Join(s, "data")
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared data not found at %s (CI must have it): %v", dir, err)
		}
		t.Skipf("needs the shared speech data at %s (absent in a user's clone; set VOXWARD_SHARED)", dir)
	}
	return dir
}

// TestOtherFiles lists the WAV files of the shared data's LibriSpeech
// test-other speakers, sorted; the test fails if there are none.
func TestOtherFiles(t testing.TB, data string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(data, "librispeech", "test-other", "*", "*.wav"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no WAV files under %s/librispeech/test-other: %v", data, err)
	}
	sort.Strings(files)
	return files
}

// ReadPCM16 reads a canonical 16-bit PCM mono WAV file (the shared
// LibriSpeech files) as samples on the int16 scale. It is for tests of
// packages that may not import capture, whose bounded decoder is the real
// one.
func ReadPCM16(t testing.TB, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" {
		t.Fatalf("%s: not a RIFF file", path)
	}
	off := 12
	for off+8 <= len(b) {
		id, n := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		off += 8
		if id == "data" {
			n = min(n, len(b)-off)
			x := make([]float32, n/2)
			for i := range x {
				x[i] = float32(int16(binary.LittleEndian.Uint16(b[off+2*i:])))
			}
			return x
		}
		off += n + n&1
	}
	t.Fatalf("%s: no data chunk", path)
	return nil
}
