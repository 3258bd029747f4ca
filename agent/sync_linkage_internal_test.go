package agent

import (
	"crypto/sha256"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
	"github.com/voxward/voxward/internal/modeltest"
	"github.com/voxward/voxward/internal/testenv"
	vsync "github.com/voxward/voxward/sync"
)

func norms(vs [][][]float32) [][]float64 {
	out := make([][]float64, len(vs))
	for b, row := range vs {
		for _, v := range row {
			var n float64
			for _, x := range v {
				n += float64(x) * float64(x)
			}
			out[b] = append(out[b], math.Sqrt(n))
		}
	}
	return out
}

// upstream is what a batch holds of templates: through the batch's
// transform (identity when secret is nil: the control), then int8 as the
// template records carry them.
func upstream(t *testing.T, secret []byte, in [][]float32) [][]float32 {
	t.Helper()
	vecs := in
	if secret != nil {
		var err error
		vecs, err = transformAll(secret, in)
		require.NoError(t, err)
	}
	lines, err := vsync.TemplateRecords("m", vecs, 1, nil)
	require.NoError(t, err)
	// One batch shuffles its records; the test needs to know whose each
	// is, so it quantizes them with the batch's scale and keeps the order.
	scale := 0.0
	for _, l := range lines {
		r, err := vsync.DecodeRecord(l)
		require.NoError(t, err)
		scale = r.Template.Scale
	}
	out := make([][]float32, len(vecs))
	for i, v := range vecs {
		q := make([]float32, len(v))
		for k, x := range v {
			q[k] = float32(math.Round(float64(x)/scale) * scale)
		}
		out[i] = q
	}
	return out
}

// The linkage test (PRIVACY.md rule 15): real voiceprints of 10 speakers,
// 8 utterances each; batch b carries utterance b of every speaker. With
// the transform, an upstream template matched against the box's own
// templates, or against the templates of another batch, scores at chance
// (EER ≥ 45 %); the same test without the transform links them.
func TestSyncTemplatesDoNotLink(t *testing.T) {
	m := modeltest.Model(t)
	files := testenv.TestOtherFiles(t, testenv.SharedData(t))
	ex, err := voiceprint.NewExtractor(m)
	require.NoError(t, err)
	const perSpeaker = 8
	bySpeaker := map[string][]string{}
	for _, f := range files {
		spk := filepath.Base(filepath.Dir(f))
		if len(bySpeaker[spk]) < perSpeaker {
			bySpeaker[spk] = append(bySpeaker[spk], f)
		}
	}
	var speakers []string
	for s, fs := range bySpeaker {
		if len(fs) == perSpeaker {
			speakers = append(speakers, s)
		}
	}
	sort.Strings(speakers)
	require.GreaterOrEqual(t, len(speakers), 8, "speakers with %d utterances", perSpeaker)
	// box[b][i]: the box's template of speaker i from utterance b.
	box := make([][][]float32, perSpeaker)
	for b := range perSpeaker {
		for _, s := range speakers {
			emb, _ := ex.Embed(nil, testenv.ReadPCM16(t, bySpeaker[s][b]))
			box[b] = append(box[b], emb)
		}
	}
	t.Logf("%d speakers × %d utterances, dim %d", len(speakers), perSpeaker, len(box[0][0]))

	// Each measure pools rounds of fresh batch secrets, so that the EER
	// is estimated from enough target trials (640 and 280 target trials a round).
	const rounds = 4
	measure := func(transform bool) (own, cross float64) {
		var tOwn, nOwn, tCross, nCross []float64
		for round := range rounds {
			up := make([][][]float32, perSpeaker)
			for b := range perSpeaker {
				var secret []byte
				if transform {
					sum := sha256.Sum256([]byte(fmt.Sprintf("linkage test round %d batch %d", round, b)))
					secret = sum[:]
				}
				up[b] = upstream(t, secret, box[b])
			}
			tOwn, nOwn, tCross, nCross = trials(up, box, len(speakers), tOwn, nOwn, tCross, nCross)
		}
		eo, _, err := eval.EER(tOwn, nOwn)
		require.NoError(t, err)
		ec, _, err := eval.EER(tCross, nCross)
		require.NoError(t, err)
		return eo, ec
	}
	ownPlain, crossPlain := measure(false)
	own, cross := measure(true)
	t.Logf("EER without the transform: against the box's own %.1f %%, across batches %.1f %%", 100*ownPlain, 100*crossPlain)
	t.Logf("EER with the transform:    against the box's own %.1f %%, across batches %.1f %%", 100*own, 100*cross)
	assert.LessOrEqual(t, ownPlain, 0.15, "the control: without the transform upstream templates should link to the box's own")
	assert.LessOrEqual(t, crossPlain, 0.2, "the control: without the transform batches should link to each other")
	assert.GreaterOrEqual(t, own, 0.45, "upstream templates link to the box's own templates")
	assert.GreaterOrEqual(t, cross, 0.45, "upstream templates link across batches")
}

// trials scores every upstream template of each batch against the box's
// own templates (all utterances) and against the upstream templates of
// every later batch, and appends the target (same speaker) and
// non-target scores.
func trials(up, box [][][]float32, nSpeakers int, tOwn, nOwn, tCross, nCross []float64) ([]float64, []float64, []float64, []float64) {
	nUp, nBox := norms(up), norms(box)
	for b := range up {
		for i, u := range up[b] {
			for c := range box {
				for j := range nSpeakers {
					s := voiceprint.Cosine(u, box[c][j]) / (nUp[b][i] * nBox[c][j])
					if i == j {
						tOwn = append(tOwn, s)
					} else {
						nOwn = append(nOwn, s)
					}
					if c <= b {
						continue
					}
					s = voiceprint.Cosine(u, up[c][j]) / (nUp[b][i] * nUp[c][j])
					if i == j {
						tCross = append(tCross, s)
					} else {
						nCross = append(nCross, s)
					}
				}
			}
		}
	}
	return tOwn, nOwn, tCross, nCross
}
