//go:build !amd64 || purego

package cpufeat

// AVX2 and FMA are never set off amd64 or with the purego tag: the
// callers' portable code runs.
var AVX2, FMA = false, false
