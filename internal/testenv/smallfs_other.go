//go:build !linux

package testenv

import "testing"

// SmallFS skips the test: a small file system is made with a tmpfs mount,
// which only Linux has.
func SmallFS(t testing.TB, size int64) string {
	t.Helper()
	t.Skip("a real full file system needs a Linux tmpfs mount; the injected ENOSPC tests still run")
	return ""
}

// FillFS is not reached: SmallFS skips.
func FillFS(t testing.TB, dir string) (free func()) {
	t.Helper()
	t.Skip("no small file system on this platform")
	return func() {}
}
