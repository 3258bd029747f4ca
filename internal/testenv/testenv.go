// Package testenv finds what voxward's tests need from outside the
// repository. Production code never imports it.
package testenv

import (
	"os"
	"path/filepath"
	"runtime"
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
