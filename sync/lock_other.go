//go:build !unix

package sync

// lockFile is a no-op where flock is missing: DirSink then serialises
// writers within one process only.
func lockFile(string) (func(), error) { return func() {}, nil }
