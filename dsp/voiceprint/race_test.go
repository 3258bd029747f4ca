//go:build race

package voiceprint_test

const raceEnabled = true
