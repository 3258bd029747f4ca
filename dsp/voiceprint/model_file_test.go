package voiceprint_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/internal/modeltest"
)

// TestShippedModelChecksum holds the embedded model to the SHA-256 its
// README records, so that a new model is committed deliberately (a new
// checksum, and a new id when its voiceprints change, in one commit),
// never by a retrain that drifted.
func TestShippedModelChecksum(t *testing.T) {
	shipped := modeltest.Model(t)
	b, err := os.ReadFile("model/voiceprint.bin")
	require.NoError(t, err)
	readme, err := os.ReadFile("model/README.md")
	require.NoError(t, err)
	m := regexp.MustCompile("SHA-256 of the shipped file: `([0-9a-f]{64})`").FindSubmatch(readme)
	require.NotNil(t, m, "model/README.md must record the shipped file's SHA-256")
	sum := sha256.Sum256(b)
	require.Equal(t, string(m[1]), hex.EncodeToString(sum[:]), "model/voiceprint.bin changed: record its SHA-256 (and a new model id) in model/README.md")

	parsed, err := voiceprint.ParseModel(b)
	require.NoError(t, err)
	require.Equal(t, parsed.Config.ID, shipped.Config.ID, "DefaultModel embeds model/voiceprint.bin")
	// Issue 13's bound: the model every build embeds stays within 4 MiB.
	require.LessOrEqual(t, len(b), 4<<20, "model/voiceprint.bin is %d bytes, over 4 MiB", len(b))
}
