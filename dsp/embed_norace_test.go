//go:build !race

package dsp_test

const raceEnabled = false
