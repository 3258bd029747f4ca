//go:build !amd64 || purego

package voiceprint

import "testing"

// forEachKernel runs fn with the Go kernels, the only ones in this build.
func forEachKernel(t testing.TB, fn func(name string)) { fn("go") }
