// Package modeltest gives tests the voiceprint model embedded in the test
// binary. The model is not committed: "make voiceprint-model" (or "make
// test", which runs it when the shared speech data is there) makes it. In
// a user's clone without the data a test that needs it skips and says so;
// in CI (CI=true) its absence is a failure. Production code never imports
// this package.
package modeltest

import (
	"errors"
	"os"
	"testing"

	"github.com/voxward/voxward/dsp/voiceprint"
)

// Model returns the embedded model, or skips (fails under CI=true) when
// this build has none.
func Model(t testing.TB) *voiceprint.Model {
	t.Helper()
	m, err := voiceprint.DefaultModel()
	switch {
	case errors.Is(err, voiceprint.ErrNoModel):
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI must build the voiceprint model first (make model): %v", err)
		}
		t.Skipf("needs the voiceprint model, which this clone cannot make without ../shared/data: %v", err)
	case err != nil:
		t.Fatalf("the embedded voiceprint model does not parse: %v", err)
	}
	return m
}
