package voiceprint_test

import (
	"testing"
)

// skipUnderRace skips the long runs over the dev data under the race
// detector (they exercise no concurrency and take minutes there); the
// plain "go test" runs them.
func skipUnderRace(t testing.TB) {
	t.Helper()
	if raceEnabled {
		t.Skip("long dev-data evaluation skipped under -race; run go test without -race for the figures")
	}
}
