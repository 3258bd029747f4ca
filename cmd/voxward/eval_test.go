package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
	"github.com/voxward/voxward/internal/modeltest"
	"github.com/voxward/voxward/internal/testenv"
)

func runVX(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), &stdio{in: strings.NewReader(""), out: &out, err: &errb}, args)
	return code, out.String(), errb.String()
}

// writeWAV writes 16 kHz 16-bit mono PCM.
func writeWAV(t *testing.T, path string, x []float32) {
	t.Helper()
	writeWAVRate(t, path, x, 16000)
}

// writeWAVRate writes 16-bit mono PCM at rate.
func writeWAVRate(t *testing.T, path string, x []float32, rate uint32) {
	t.Helper()
	var b bytes.Buffer
	n := uint32(2 * len(x))
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, 36+n)
	b.WriteString("WAVEfmt ")
	_ = binary.Write(&b, binary.LittleEndian, []uint32{16})
	_ = binary.Write(&b, binary.LittleEndian, []uint16{1, 1})
	_ = binary.Write(&b, binary.LittleEndian, []uint32{rate, 2 * rate})
	_ = binary.Write(&b, binary.LittleEndian, []uint16{2, 16})
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, n)
	for _, v := range x {
		_ = binary.Write(&b, binary.LittleEndian, int16(max(-32768, min(32767, v))))
	}
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
}

// voice is a crude synthetic talker: a pulse train at f0 through two
// resonances whose frequencies depend on the talker, with syllable-rate
// modulation and pauses.
func voice(n int, f0, r1, r2 float64, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 3))
	x := make([]float32, n)
	var ph, y1, y2, z1, z2 float64
	a1, b1 := 2*0.97*math.Cos(2*math.Pi*r1/16000), -0.97*0.97
	a2, b2 := 2*0.95*math.Cos(2*math.Pi*r2/16000), -0.95*0.95
	for i := range x {
		ph += f0 * (1 + 0.05*math.Sin(float64(i)/3000)) / 16000
		e := 0.0
		if ph >= 1 {
			ph--
			e = 1
		}
		y := e + a1*y1 + b1*y2
		y2, y1 = y1, y
		z := y + a2*z1 + b2*z2
		z2, z1 = z1, z
		env := math.Max(0, math.Sin(float64(i)/16000*2*math.Pi*2.5))
		x[i] = float32(200*z*env + 10*r.NormFloat64())
	}
	return x
}

func TestEvalMatchesDevFigures(t *testing.T) {
	modeltest.Model(t) // the commands embed it
	data := testenv.SharedData(t)
	skipUnderRace(t)
	list := filepath.Join(data, "trials", "dev_testother_1v1.txt")
	det := filepath.Join(t.TempDir(), "det.svg")
	code, out, errOut := runVX(t, "eval", "--trials", list, "--audio-root", data, "--det", det)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "voiceprints", "progress bar on stderr")
	var got struct {
		Trials, Targets, Nontargets int
		EER, MinDCF                 float64
	}
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &raw))
	for _, k := range []string{"trials", "targets", "nontargets", "eer", "min_dcf", "threshold_at_eer", "seconds"} {
		assert.Contains(t, raw, k)
	}
	got.Trials, got.Targets, got.Nontargets = int(raw["trials"].(float64)), int(raw["targets"].(float64)), int(raw["nontargets"].(float64))
	got.EER, got.MinDCF = raw["eer"].(float64), raw["min_dcf"].(float64)
	assert.Equal(t, 4950, got.Trials)
	assert.Equal(t, 450, got.Targets)
	assert.Equal(t, 4500, got.Nontargets)
	assert.Less(t, raw["seconds"].(float64), 60.0)
	// The intervals of a bootstrap over the list's ten speakers hold the
	// figures.
	assert.Equal(t, 10.0, raw["speakers"])
	for fig, ci := range map[string]string{"eer": "eer_ci90", "far_at_threshold": "far_at_threshold_ci90", "frr_at_threshold": "frr_at_threshold_ci90"} {
		iv, ok := raw[ci].([]any)
		require.True(t, ok, "%s: %v", ci, raw[ci])
		require.Len(t, iv, 2)
		assert.LessOrEqual(t, iv[0].(float64), raw[fig].(float64), ci)
		assert.GreaterOrEqual(t, iv[1].(float64), raw[fig].(float64), ci)
		assert.Less(t, iv[0].(float64), iv[1].(float64), "%s: ten speakers leave room", ci)
	}

	// Recompute with the dsp API, one file at a time, no caching tricks.
	m, err := modeltest.Model(t), error(nil)
	require.NoError(t, err)
	ex, err := voiceprint.NewExtractor(m)
	require.NoError(t, err)
	sc := voiceprint.NewScorer(m)
	trials, err := eval.ReadTrials(list)
	require.NoError(t, err)
	embs := map[string][]float32{}
	emb := func(p string) []float32 {
		if e, ok := embs[p]; ok {
			return e
		}
		x, err := capture.ReadWAVFile16k(filepath.Join(data, p), 0)
		require.NoError(t, err)
		e, _ := ex.Embed(nil, x)
		embs[p] = e
		return e
	}
	norms := map[string]voiceprint.CohortNorm{}
	norm := func(p string) voiceprint.CohortNorm {
		if n, ok := norms[p]; ok {
			return n
		}
		n := sc.CohortNorm(emb(p))
		norms[p] = n
		return n
	}
	var tar, non []float64
	for _, tr := range trials {
		a, b := tr.Enroll[0], tr.Test
		s := sc.ScoreWithNorms(emb(a), emb(b), norm(a), norm(b))
		if tr.Target {
			tar = append(tar, s)
		} else {
			non = append(non, s)
		}
	}
	eer, _, err := eval.EER(tar, non)
	require.NoError(t, err)
	dcf, _, err := eval.MinDCF(tar, non, eval.DefaultDCF)
	require.NoError(t, err)
	t.Logf("voxward eval dev_testother_1v1: EER %.2f%%, minDCF %.3f in %.1fs", 100*got.EER, got.MinDCF, raw["seconds"])
	assert.InDelta(t, eer, got.EER, 1e-12)
	assert.InDelta(t, dcf, got.MinDCF, 1e-12)

	svg, err := os.ReadFile(det)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(svg), "<svg"))
	assert.Contains(t, string(svg), "<path d=\"M")
}

func TestEmbedAndScoreCommands(t *testing.T) {
	modeltest.Model(t) // the commands embed it
	dir := t.TempDir()
	a := filepath.Join(dir, "a.wav")
	b := filepath.Join(dir, "b.wav")
	writeWAV(t, a, voice(4*16000, 120, 700, 1200, 1))
	writeWAV(t, b, voice(4*16000, 210, 500, 2000, 2))
	code, out, errOut := runVX(t, "embed", "--json", a, b)
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2)
	m, err := modeltest.Model(t), error(nil)
	require.NoError(t, err)
	for i, l := range lines {
		var e embedLine
		require.NoError(t, json.Unmarshal([]byte(l), &e))
		assert.Equal(t, []string{a, b}[i], e.File)
		assert.Equal(t, m.Config.ID, e.Model)
		assert.Equal(t, m.EmbeddingDim(), e.Dim)
		assert.Len(t, e.Embedding, e.Dim)
		assert.Greater(t, e.SpeechSeconds, 0.5)
	}

	code, out, errOut = runVX(t, "score", a, a)
	require.Equal(t, 0, code, errOut)
	var same scoreOut
	require.NoError(t, json.Unmarshal([]byte(out), &same))
	assert.True(t, same.SameSpeaker, "a file against itself: %+v", same)
	code, out, errOut = runVX(t, "score", a, b)
	require.Equal(t, 0, code, errOut)
	var diff scoreOut
	require.NoError(t, json.Unmarshal([]byte(out), &diff))
	assert.Less(t, diff.Score, same.Score)
	assert.Equal(t, same.Threshold, diff.Threshold)
}

// Two band-limited files (8 kHz recordings) are held to the model's
// band-limited threshold; a pair with one wide-band side is not.
func TestScoreBandLimited(t *testing.T) {
	m := modeltest.Model(t)
	thr, err := voiceprint.NewScorer(m).Thresholds(0.01)
	require.NoError(t, err)
	require.Greater(t, thr.BandLimited, thr.Any)
	dir := t.TempDir()
	files := map[string]string{}
	for _, spk := range []string{"1688", "1998"} {
		x, err := capture.ReadWAVFile16k(filepath.Join("..", "..", "testdata", "speakers", "enrol-"+spk+".wav"), 0)
		require.NoError(t, err)
		files[spk] = filepath.Join(dir, spk+".wav")
		writeWAV(t, files[spk], x)
		files[spk+"-8k"] = filepath.Join(dir, spk+"-8k.wav")
		writeWAV(t, files[spk+"-8k"], eval.NarrowBand(nil, x))
	}
	for _, c := range []struct {
		a, b        string
		bandLimited bool
		want        float64
	}{
		{"1688-8k", "1998-8k", true, thr.BandLimited},
		{"1688-8k", "1998", false, thr.Any},
		{"1688", "1998", false, thr.Any},
	} {
		code, out, errOut := runVX(t, "score", files[c.a], files[c.b])
		require.Equal(t, 0, code, errOut)
		var got scoreOut
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		assert.Equal(t, c.bandLimited, got.BandLimited, "%s against %s", c.a, c.b)
		assert.Equal(t, c.want, got.Threshold, "%s against %s", c.a, c.b)
		assert.Equal(t, got.Score >= got.Threshold, got.SameSpeaker)
	}
}

// No voiceprint without speech: embed and score refuse silence, a tone
// and a 1-second burst with the reason, so two such files are never "the
// same speaker".
func TestNoVoiceprintWithoutSpeech(t *testing.T) {
	modeltest.Model(t) // the commands embed it
	dir := t.TempDir()
	silence, tone := filepath.Join(dir, "silence.wav"), filepath.Join(dir, "tone.wav")
	writeWAV(t, silence, make([]float32, 5*16000))
	x := make([]float32, 5*16000)
	for i := range x {
		x[i] = float32(3000 * math.Sin(2*math.Pi*300*float64(i)/16000))
	}
	writeWAV(t, tone, x)
	burst := filepath.Join(dir, "burst.wav")
	writeWAV(t, burst, voice(16000, 140, 700, 1200, 1))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"embed", silence}, "no_voice"},
		{[]string{"embed", tone}, "no_voice"},
		{[]string{"score", silence, tone}, "no_voice"},
		{[]string{"embed", burst}, "too_short"},
	} {
		code, out, errOut := runVX(t, c.args...)
		assert.Equal(t, 1, code, "%v: %s", c.args, errOut)
		assert.Contains(t, errOut, c.want, "%v", c.args)
		assert.Contains(t, errOut, "no voiceprint", "%v", c.args)
		assert.NotContains(t, out, "same_speaker", "%v", c.args)
	}
}

func TestVoiceprintCommandErrors(t *testing.T) {
	modeltest.Model(t) // the commands embed it
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.wav")
	require.NoError(t, os.WriteFile(bad, []byte("RIFF nonsense"), 0o644))
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"embed"}, 2, "no input files"},
		{[]string{"embed", bad}, 1, "bad.wav"},
		{[]string{"embed", filepath.Join(dir, "missing.wav")}, 1, "missing.wav"},
		{[]string{"score", bad}, 2, "two WAV files"},
		{[]string{"score", bad, bad}, 1, "bad.wav"},
		{[]string{"score", "--far", "2", bad, bad}, 2, "--far"},
		{[]string{"eval"}, 2, "--trials"},
		{[]string{"eval", "--trials", bad, "--audio-root", dir, "--augment", "radio"}, 2, "--augment"},
		{[]string{"eval", "--trials", bad, "--audio-root", dir, "--det", "x.jpg"}, 2, "--det"},
		{[]string{"eval", "--trials", bad, "--audio-root", dir}, 1, "malformed trial list"},
		{[]string{"train", "extra"}, 2, "unexpected"},
		{[]string{"embed", dir}, 1, "a directory, not a WAV file"},
		{[]string{"score", dir, bad}, 1, "a directory, not a WAV file"},
	}
	for _, c := range cases {
		code, _, errOut := runVX(t, c.args...)
		assert.Equal(t, c.code, code, "%v: %s", c.args, errOut)
		assert.Contains(t, errOut, c.msg, "%v", c.args)
		assert.NotContains(t, errOut, "goroutine", "%v", c.args)
		if c.code == 1 { // a file's name once, not "bad.wav: bad.wav: ..."
			for _, p := range []string{bad, dir} {
				assert.LessOrEqual(t, strings.Count(errOut, p+":"), 1, "%v: %s", c.args, errOut)
			}
		}
	}
}

// TestTrainSmall trains a tiny model on synthetic talkers end to end and
// checks it loads, embeds and tells the talkers apart.
func TestTrainSmall(t *testing.T) {
	modeltest.Model(t) // the commands embed it
	data := t.TempDir()
	talkers := []struct{ f0, r1, r2 float64 }{{110, 600, 1100}, {140, 750, 1500}, {180, 500, 2100}, {220, 850, 1800}, {95, 650, 2400}, {250, 900, 1300}}
	for i, tk := range talkers {
		p := filepath.Join(data, "librispeech", "train-clean-100", string(rune('a'+i)), "u.wav")
		writeWAV(t, p, voice(6*16000, tk.f0, tk.r1, tk.r2, uint64(i)))
	}
	out := filepath.Join(t.TempDir(), "m.bin")
	small := []string{"--components", "8", "--parents", "2",
		"--top-parents", "2", "--top-n", "4", "--frames", "2000", "--nap", "2", "--cohort-top", "3", "--num-ceps", "13", "--iters", "3", "--split-iters", "2",
		"--neural-width", "8", "--neural-dim", "16", "--neural-steps", "20"}
	// The corpus offsets (--domains, the default) need the multilingual
	// recordings: without them training stops and says how to do without.
	code, _, errOut := runVX(t, append([]string{"train", "--data", data, "--out", out}, small...)...)
	require.Equal(t, 1, code)
	assert.Contains(t, errOut, "no multilingual recordings under "+filepath.Join(data, "multilingual")+" (train with --multilingual 0 --domains=false to do without)")
	// Two corpora of four speakers: the model half is the first and third
	// folder of each, and the offsets are learned from the first.
	for c, corpus := range []string{"arabic_commands", "malayalam_msc"} {
		for k := range 4 {
			tk := talkers[(c+k)%len(talkers)]
			p := filepath.Join(data, "multilingual", corpus, fmt.Sprintf("%c%d", "am"[c], k), "r.wav")
			writeWAV(t, p, voice(3*16000, tk.f0*1.1, tk.r1*1.2, tk.r2, uint64(50+10*c+k)))
		}
	}
	code, stdout, errOut := runVX(t, append([]string{"train", "--data", data, "--out", out}, small...)...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, stdout, out)
	assert.Contains(t, errOut, "UBM")
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	m, err := voiceprint.ParseModel(b)
	require.NoError(t, err)
	// By default a feature-warped, a plain-CMN, a mean and a neural
	// branch, fused with weights 0.24, 0.24, 0.12 and 0.4.
	require.Len(t, m.Branches, 4)
	assert.True(t, m.Branches[0].Config.FeatureWarp)
	assert.False(t, m.Branches[1].Config.FeatureWarp)
	assert.Equal(t, 16.0, m.Branches[1].Config.Relevance)
	for _, br := range m.Branches[:2] {
		assert.Equal(t, 8, br.Config.Components)
		assert.Equal(t, 6, br.Config.CohortSize)
		assert.True(t, br.Config.CompactRows, "NAP int8, cohort 4-bit")
		assert.Equal(t, 4, br.Config.NAPRank, "two learned directions and one offset per corpus")
	}
	assert.Equal(t, []string{"a0", "m0"}, m.Config.LearnedFrom, "the speakers the offsets were learned from")
	assert.Contains(t, m.Config.Training, "offset of each multilingual corpus")
	mb := m.Branches[2].Config
	assert.True(t, mb.KeepMeans)
	assert.Equal(t, 1, mb.Components)
	assert.Equal(t, 0, mb.NAPRank)
	assert.Equal(t, 6, mb.CohortSize)
	assert.True(t, mb.CohortFloat16)
	assert.True(t, mb.ParamsFloat16, "the GMM branches make room for the network")
	nb := m.Branches[3].Config
	require.NotNil(t, nb.Neural)
	assert.Equal(t, 16, nb.EmbeddingDim())
	assert.Equal(t, 6, nb.CohortSize)
	assert.Contains(t, nb.Training, "TDNN")
	assert.InDeltaSlice(t, []float64{0.24, 0.24, 0.12, 0.4}, m.Config.BranchWeights, 1e-12)
	assert.Equal(t, 6, m.Config.CohortSize)
	assert.Len(t, m.Config.CohortLabels, 6)
	assert.NotEmpty(t, m.Config.Calibration)
	assert.NotEmpty(t, m.Config.IdentifyCalibration)
	assert.Contains(t, m.Config.ID, "gsvfuse-")
	ex, err := voiceprint.NewExtractor(m)
	require.NoError(t, err)
	sc := voiceprint.NewScorer(m)
	va, _ := ex.Embed(nil, voice(4*16000, talkers[0].f0, talkers[0].r1, talkers[0].r2, 100))
	vb, _ := ex.Embed(nil, voice(4*16000, talkers[0].f0, talkers[0].r1, talkers[0].r2, 101))
	vc, _ := ex.Embed(nil, voice(4*16000, talkers[2].f0, talkers[2].r1, talkers[2].r2, 102))
	assert.Greater(t, sc.Score(va, vb), sc.Score(va, vc), "same talker scores above another")

	// --fusion=false trains the single feature-warped model.
	single := filepath.Join(t.TempDir(), "single.bin")
	code, _, errOut = runVX(t, "train", "--data", data, "--out", single, "--fusion=false", "--components", "8", "--parents", "2",
		"--top-parents", "2", "--top-n", "4", "--frames", "2000", "--nap", "2", "--cohort-top", "3", "--num-ceps", "13", "--iters", "3", "--split-iters", "2")
	require.Equal(t, 0, code, errOut)
	bs, err := os.ReadFile(single)
	require.NoError(t, err)
	ms, err := voiceprint.ParseModel(bs)
	require.NoError(t, err)
	assert.Empty(t, ms.Branches)
	assert.Equal(t, 8, ms.Config.Components)
	assert.Equal(t, 6, ms.Config.CohortSize)
	assert.NotEmpty(t, ms.Config.Calibration)
	assert.Less(t, len(bs), len(b))

	// Deterministic: a second run writes the same bytes.
	out2 := filepath.Join(t.TempDir(), "m2.bin")
	code, _, errOut = runVX(t, append([]string{"train", "--data", data, "--out", out2, "--jobs", "1"}, small...)...)
	require.Equal(t, 0, code, errOut)
	b2, err := os.ReadFile(out2)
	require.NoError(t, err)
	assert.Equal(t, b, b2, "training is not deterministic across runs and job counts")

	// --calib-confidence 0 keeps the training speakers' own verification
	// thresholds; the default bounds them over draws of the speakers,
	// higher where a few speakers hold the top scores. Nothing else
	// changes.
	out0 := filepath.Join(t.TempDir(), "m0.bin")
	code, _, errOut = runVX(t, append([]string{"train", "--data", data, "--out", out0, "--calib-confidence", "0"}, small...)...)
	require.Equal(t, 0, code, errOut)
	b0, err := os.ReadFile(out0)
	require.NoError(t, err)
	m0, err := voiceprint.ParseModel(b0)
	require.NoError(t, err)
	assert.Contains(t, m.Config.Training, "verification thresholds hold their rate with 0.9 confidence")
	assert.NotContains(t, m0.Config.Training, "confidence")
	assert.Equal(t, m.Config.IdentifyCalibration, m0.Config.IdentifyCalibration)
	assert.Equal(t, m.Branches[0].Params(), m0.Branches[0].Params(), "the same voiceprints")
	require.Len(t, m0.Config.Calibration, len(m.Config.Calibration))
	for i, c := range m.Config.Calibration {
		assert.GreaterOrEqual(t, c.Threshold, m0.Config.Calibration[i].Threshold, "FAR %g", c.FAR)
	}
	assert.NotEqual(t, m.Config.Calibration, m0.Config.Calibration)
}

// skipUnderRace skips the long dev-data evaluation under the race
// detector; the plain "go test" runs it.
func skipUnderRace(t testing.TB) {
	t.Helper()
	if raceEnabled {
		t.Skip("long dev-data evaluation skipped under -race; run go test without -race for the figures")
	}
}

func TestEvalAugmentAndPNG(t *testing.T) {
	modeltest.Model(t) // the commands embed it
	data := testenv.SharedData(t)
	skipUnderRace(t)
	list := filepath.Join(data, "trials", "dev_testother_3v1.txt")
	det := filepath.Join(t.TempDir(), "det.png")
	scores := filepath.Join(t.TempDir(), "scores.txt")
	code, out, errOut := runVX(t, "eval", "--quiet", "--trials", list, "--audio-root", data, "--augment", "telephone", "--det", det, "--scores", scores)
	require.Equal(t, 0, code, errOut)
	assert.Empty(t, errOut, "--quiet leaves stderr empty")
	var res map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	assert.Equal(t, 970.0, res["trials"])
	eer := res["eer"].(float64)
	assert.Greater(t, eer, 0.0)
	assert.Less(t, eer, 0.5)
	f, err := os.Open(det)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	assert.Equal(t, 600, img.Bounds().Dx())

	// The model, as a system to compare with, is named by its id; with
	// a research override, by that too. Ten speakers: an interval.
	sf, err := eval.ReadScores(scores)
	require.NoError(t, err)
	id := modeltest.Model(t).Config.ID
	assert.Equal(t, id, sf.System)
	assert.Equal(t, "channel=telephone augment-enrol=false test-seconds=0", sf.Condition)
	fewer, _ := evalJSON(t, "--quiet", "--trials", list, "--audio-root", data, "--augment", "telephone", "--nap", "5", "--against", scores)
	require.Len(t, fewer["against"], 1)
	c := fewer["against"].([]any)[0].(map[string]any)
	assert.Equal(t, id, c["system"])
	assert.InDelta(t, fewer["eer"].(float64)-eer, c["eer_diff"], 1e-12)
	require.Contains(t, c, "eer_diff_ci90")
	ci := c["eer_diff_ci90"].([]any)
	assert.LessOrEqual(t, ci[0], ci[1])
	t.Logf("telephone 3v1, 5 NAP directions against the model's: EER %+.2f points, 90 %% interval %.2f to %.2f, lower in %.0f %% of rounds",
		100*c["eer_diff"].(float64), 100*ci[0].(float64), 100*ci[1].(float64), 100*c["lower_eer_rounds"].(float64))
}

// An 8 kHz file (a telephone recording) is resampled to 16 kHz: its
// voiceprint is close to that of the 16 kHz original band-limited the
// same way, and the command does not refuse it.
func TestEmbedResamples8k(t *testing.T) {
	modeltest.Model(t) // the commands embed it
	dir := t.TempDir()
	x := voice(4*16000, 150, 700, 1200, 9)
	lo := make([]float32, len(x)/2)
	for i := range lo {
		lo[i] = (x[2*i] + x[2*i+1]) / 2
	}
	p8 := filepath.Join(dir, "a8k.wav")
	writeWAVRate(t, p8, lo, 8000)
	y, err := capture.ReadWAVFile16k(p8, 0)
	require.NoError(t, err)
	assert.InDelta(t, len(x), len(y), 2)
	code, out, errOut := runVX(t, "embed", p8)
	require.Equal(t, 0, code, errOut)
	var e embedLine
	require.NoError(t, json.Unmarshal([]byte(out), &e))
	assert.Greater(t, e.SpeechSeconds, 1.0)
}

// peerTalkers writes three utterances of each of two synthetic talkers
// under dir and a trial list of every pair plus two-file enrolments; it
// returns the list's path.
func peerTalkers(t *testing.T, dir string) string {
	t.Helper()
	talkers := []struct{ f0, r1, r2 float64 }{{110, 600, 1100}, {210, 850, 2000}}
	var files []string
	for i, tk := range talkers {
		for u := 0; u < 3; u++ {
			p := filepath.Join("t"+string(rune('a'+i)), fmt.Sprintf("u%d.wav", u))
			// Each utterance varies a little around its talker.
			d := float64(u) * 0.03
			writeWAV(t, filepath.Join(dir, p), voice(3*16000, tk.f0*(1+d), tk.r1*(1-d), tk.r2*(1+d/2), uint64(10*i+u)))
			files = append(files, p)
		}
	}
	var b strings.Builder
	spk := func(p string) string { return filepath.Dir(p) }
	for i, a := range files {
		for _, c := range files[i+1:] {
			fmt.Fprintf(&b, "%d %s %s\n", map[bool]int{true: 1, false: 0}[spk(a) == spk(c)], a, c)
		}
	}
	for _, c := range files {
		for _, pair := range [][2]string{{files[0], files[1]}, {files[3], files[4]}} {
			if c == pair[0] || c == pair[1] {
				continue
			}
			fmt.Fprintf(&b, "%d %s,%s %s\n", map[bool]int{true: 1, false: 0}[spk(pair[0]) == spk(c)], pair[0], pair[1], c)
		}
	}
	list := filepath.Join(dir, "trials.txt")
	require.NoError(t, os.WriteFile(list, []byte(b.String()), 0o644))
	return list
}

// evalJSON runs eval and returns its JSON output without the wall time.
func evalJSON(t *testing.T, args ...string) (map[string]any, string) {
	t.Helper()
	code, out, errOut := runVX(t, append([]string{"eval"}, args...)...)
	require.Equal(t, 0, code, errOut)
	var res map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	assert.Greater(t, res["seconds"].(float64), 0.0)
	delete(res, "seconds")
	return res, errOut
}

// Each peer separates two synthetic talkers far better than chance and
// repeats its figures exactly; gmm-ubm trains the same UBM whatever
// --jobs, and reuses a cached one.
func TestEvalPeersSyntheticTalkers(t *testing.T) {
	dir := t.TempDir()
	list := peerTalkers(t, dir)
	data := t.TempDir()
	bg := []struct{ f0, r1, r2 float64 }{{100, 550, 1000}, {140, 750, 1500}, {180, 500, 2100}, {230, 900, 1800}, {95, 650, 2400}, {250, 950, 1300}}
	for i, tk := range bg {
		writeWAV(t, filepath.Join(data, "librispeech", "train-clean-100", string(rune('a'+i)), "u.wav"), voice(4*16000, tk.f0, tk.r1, tk.r2, uint64(100+i)))
	}
	small := []string{"--data", data, "--ubm-components", "8", "--ubm-parents", "2"}

	det := filepath.Join(t.TempDir(), "stats.svg")
	stats, errOut := evalJSON(t, "--system", "mfcc-stats", "--trials", list, "--audio-root", dir, "--det", det)
	assert.Contains(t, errOut, "mfcc-stats vectors", "progress bar")
	assert.Equal(t, 23.0, stats["trials"])
	assert.Equal(t, 8.0, stats["targets"])
	t.Logf("mfcc-stats on synthetic talkers: %v", stats)
	assert.Less(t, stats["eer"].(float64), 0.25, "better than chance (0.5)")
	svg, err := os.ReadFile(det)
	require.NoError(t, err)
	assert.Contains(t, string(svg), "mfcc-stats")
	statsScores := filepath.Join(t.TempDir(), "mfcc-stats.txt")
	again, _ := evalJSON(t, "--system", "mfcc-stats", "--trials", list, "--audio-root", dir, "--jobs", "1", "--quiet", "--scores", statsScores)
	assert.Equal(t, stats, again, "mfcc-stats repeats exactly")
	sf, err := eval.ReadScores(statsScores)
	require.NoError(t, err)
	assert.Equal(t, "mfcc-stats", sf.System)
	assert.Equal(t, "channel=clean augment-enrol=false test-seconds=0", sf.Condition)
	assert.Len(t, sf.Scores, 23)
	// --test-seconds cuts the test side: past a file's end it changes
	// nothing; one second changes the scores.
	long, _ := evalJSON(t, "--system", "mfcc-stats", "--trials", list, "--audio-root", dir, "--quiet", "--test-seconds", "600")
	assert.Equal(t, stats, long, "a cut past the end keeps whole files")
	short, _ := evalJSON(t, "--system", "mfcc-stats", "--trials", list, "--audio-root", dir, "--quiet", "--test-seconds", "1")
	assert.NotEqual(t, stats["threshold_at_eer"], short["threshold_at_eer"], "a 1-second cut changes the scores")
	assert.Equal(t, stats["trials"], short["trials"])

	cache := filepath.Join(t.TempDir(), "ubm.bin")
	gmm, errOut := evalJSON(t, append([]string{"--system", "gmm-ubm", "--ubm", cache, "--trials", list, "--audio-root", dir}, small...)...)
	assert.Contains(t, errOut, "UBM   8 components")
	assert.Contains(t, errOut, "gmm-ubm trials", "progress bar")
	t.Logf("gmm-ubm on synthetic talkers: %v", gmm)
	assert.Less(t, gmm["eer"].(float64), 0.25, "better than chance (0.5)")
	require.FileExists(t, cache)
	cached, errOut := evalJSON(t, append([]string{"--system", "gmm-ubm", "--ubm", cache, "--trials", list, "--audio-root", dir}, small...)...)
	assert.Contains(t, errOut, "UBM from")
	assert.NotContains(t, errOut, "iteration")
	assert.Equal(t, gmm, cached, "a cached UBM scores as the trained one")
	fresh, _ := evalJSON(t, append([]string{"--system", "gmm-ubm", "--jobs", "1", "--quiet", "--trials", list, "--audio-root", dir}, small...)...)
	assert.Equal(t, gmm, fresh, "UBM training is deterministic across --jobs")
	// A UBM of another recipe in the cache file is not used.
	other, errOut := evalJSON(t, "--system", "gmm-ubm", "--ubm", cache, "--trials", list, "--audio-root", dir, "--data", data, "--ubm-components", "4", "--ubm-parents", "2")
	assert.Contains(t, errOut, "holds another UBM")
	assert.Equal(t, gmm["trials"], other["trials"])
	sel, _ := evalJSON(t, append([]string{"--system", "gmm-ubm", "--ubm-select", "selector", "--quiet", "--trials", list, "--audio-root", dir}, small...)...)
	assert.Less(t, sel["eer"].(float64), 0.5, "dsp's selector: better than chance")

	// --against: gmm-ubm's EER against mfcc-stats' on the same trials
	// (two talkers: too few for an interval).
	vs, _ := evalJSON(t, append([]string{"--system", "gmm-ubm", "--ubm", cache, "--quiet", "--trials", list, "--audio-root", dir, "--against", statsScores}, small...)...)
	require.Len(t, vs["against"], 1)
	c := vs["against"].([]any)[0].(map[string]any)
	assert.Equal(t, "mfcc-stats", c["system"])
	assert.Equal(t, stats["eer"], c["eer"])
	assert.InDelta(t, gmm["eer"].(float64)-stats["eer"].(float64), c["eer_diff"], 1e-12)
	assert.NotContains(t, c, "eer_diff_ci90")
	delete(vs, "against")
	assert.Equal(t, gmm, vs, "--against adds, and changes nothing else")
	// Scores of another condition or of other trials are refused before
	// any scoring.
	code, _, errOut := runVX(t, "eval", "--system", "mfcc-stats", "--quiet", "--trials", list, "--audio-root", dir, "--test-seconds", "1", "--against", statsScores)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `mfcc-stats was scored in "channel=clean augment-enrol=false test-seconds=0", this run is "channel=clean augment-enrol=false test-seconds=1"`)
	fewer := filepath.Join(t.TempDir(), "fewer.txt")
	b, err := os.ReadFile(list)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(fewer, b[bytes.IndexByte(b, '\n')+1:], 0o644))
	code, _, errOut = runVX(t, "eval", "--system", "mfcc-stats", "--quiet", "--trials", fewer, "--audio-root", dir, "--against", statsScores)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "not the same trials: mfcc-stats scored 23 trials, this run 22")
	code, _, errOut = runVX(t, "eval", "--system", "mfcc-stats", "--quiet", "--trials", list, "--audio-root", dir, "--against", filepath.Join(dir, "missing.txt"))
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "open score file")
}

func TestEvalPeerUsageErrors(t *testing.T) {
	modeltest.Model(t) // the commands embed it
	dir := t.TempDir()
	list := peerTalkers(t, dir)
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--system", "ivector"}, 2, "--system"},
		{[]string{"--system", "mfcc-stats", "--model", "m.bin"}, 2, "--system voxward only"},
		{[]string{"--system", "gmm-ubm", "--nap", "2"}, 2, "--system voxward only"},
		{[]string{"--system", "gmm-ubm", "--ubm-select", "fast"}, 2, "--ubm-select"},
		{[]string{"--system", "gmm-ubm", "--ubm-components", "24", "--ubm-parents", "8"}, 2, "power of two"},
		{[]string{"--top-parents", "0"}, 2, "top-parents 0"},
		{[]string{"--test-seconds", "-1"}, 2, "--test-seconds"},
		{[]string{"--test-seconds", "NaN"}, 2, "--test-seconds"},
		{[]string{"--system", "gmm-ubm", "--data", dir}, 1, "train-clean-100"},
	}
	for _, c := range cases {
		code, _, errOut := runVX(t, append([]string{"eval", "--quiet", "--trials", list, "--audio-root", dir}, c.args...)...)
		assert.Equal(t, c.code, code, "%v: %s", c.args, errOut)
		assert.Contains(t, errOut, c.msg, "%v", c.args)
	}
}

// mfcc-stats on the dev list lands near the figure VOICEPRINT.md reports
// for the same baseline with torchaudio's front end (EER 6.00 % 1v1,
// 2.86 % 3v1). Measured here: 4.89 % and 2.98 %. The tolerance, 1.5
// points, covers what differs: dsp's VAD instead of the reference's
// speech selection and 40 mel bins (the reference's are not recorded);
// one 1v1 target trial moves the EER by 0.22 points, one 3v1 trial by
// 1.4 (which is why 3v1 gets 2 points).
func TestEvalPeerMFCCStatsDev(t *testing.T) {
	data := testenv.SharedData(t)
	skipUnderRace(t)
	for _, c := range []struct {
		list     string
		ref, tol float64
	}{{"dev_testother_1v1", 0.0600, 0.015}, {"dev_testother_3v1", 0.0286, 0.02}} {
		res, _ := evalJSON(t, "--system", "mfcc-stats", "--quiet", "--trials", filepath.Join(data, "trials", c.list+".txt"), "--audio-root", data)
		eer := res["eer"].(float64)
		t.Logf("mfcc-stats %s: EER %.2f%%, minDCF %.3f (VOICEPRINT.md: %.2f%%)", c.list, 100*eer, res["min_dcf"], 100*c.ref)
		assert.InDelta(t, c.ref, eer, c.tol, c.list)
	}
}

// gmm-ubm on the dev list (UBM training included, ~30 s on 2 cores): near
// VOICEPRINT.md's GMM-UBM (EER 2.67 % 1v1, 0.33 % 3v1). Measured here:
// 2.00 % and 0.11 % with exact top-10 selection (the reference's
// selection is not recorded; its VAD and mel bins differ, see
// TestEvalPeerMFCCStatsDev; 1.5 points of tolerance either way). It runs
// wherever the shared data is (CI included); "make voiceprint-peers" runs
// it after its table, with its cached UBM (VOXWARD_PEER_UBM).
func TestEvalPeerGMMUBMDev(t *testing.T) {
	data := testenv.SharedData(t)
	skipUnderRace(t)
	cache := os.Getenv("VOXWARD_PEER_UBM") // a UBM cache file ("make voiceprint-peers" passes its own)
	if cache == "" {
		cache = filepath.Join(t.TempDir(), "ubm.bin")
	}
	for _, c := range []struct {
		list     string
		ref, tol float64
	}{{"dev_testother_1v1", 0.0267, 0.015}, {"dev_testother_3v1", 0.0033, 0.015}} {
		res, _ := evalJSON(t, "--system", "gmm-ubm", "--quiet", "--data", data, "--ubm", cache, "--trials", filepath.Join(data, "trials", c.list+".txt"), "--audio-root", data)
		eer := res["eer"].(float64)
		t.Logf("gmm-ubm %s: EER %.2f%%, minDCF %.3f (VOICEPRINT.md: %.2f%%)", c.list, 100*eer, res["min_dcf"], 100*c.ref)
		assert.InDelta(t, c.ref, eer, c.tol, c.list)
	}
}

// Trials with a speaker the model was trained with (one its cohort names,
// or one whose corpus offset it learned) are left out for every system
// and counted; the others are all scored.
func TestEvalLeavesOutTrainingSpeakers(t *testing.T) {
	m := modeltest.Model(t)
	require.NotEmpty(t, m.Config.LearnedFrom, "the shipped model learned the multilingual corpora's offsets")
	dir := t.TempDir()
	list := peerTalkers(t, dir)
	b, err := os.ReadFile(list)
	require.NoError(t, err)
	base := strings.Count(string(b), "\n")
	trained, learned := m.Config.CohortLabels[0], m.Config.LearnedFrom[0]
	for k, spk := range []string{trained, learned} {
		for u := 0; u < 2; u++ {
			writeWAV(t, filepath.Join(dir, spk, fmt.Sprintf("u%d.wav", u)), voice(3*16000, 160+20*float64(k), 700, 1500, uint64(40+2*k+u)))
		}
	}
	extra := fmt.Sprintf("1 %[1]s/u0.wav %[1]s/u1.wav\n0 %[1]s/u0.wav ta/u0.wav\n0 tb/u1.wav,tb/u2.wav %[1]s/u1.wav\n0 ta/u1.wav %[2]s/u0.wav\n", trained, learned)
	require.NoError(t, os.WriteFile(list, append(b, extra...), 0o644))
	for _, sys := range []string{"voxward", "mfcc-stats"} {
		res, errOut := evalJSON(t, "--quiet", "--system", sys, "--trials", list, "--audio-root", dir)
		assert.Equal(t, float64(base), res["trials"], sys)
		assert.Equal(t, 4.0, res["training_trials_left_out"], sys)
		assert.Contains(t, errOut, "model "+m.Config.ID+": 4 trials of its training speakers left out", sys)
	}
}

// With a venue cohort (every other speaker folder of each multilingual
// corpus, as "make voiceprint-peers" gives it), eval's decision is the
// venue's: measured on its different-speaker pairs, it keeps the
// false-accept rate on the other half's trials, where the model's own
// threshold accepts 6.7 % of different speakers. The speakers the model
// learned the corpus offsets from (one in three of that half) are left
// out of the venue: a box never holds its model's training voices.
func TestEvalVenueThresholdMultilingual(t *testing.T) {
	modeltest.Model(t)
	data := testenv.SharedData(t)
	skipUnderRace(t)
	var cohort []string
	for _, corpus := range []string{"arabic_commands", "malayalam_msc"} {
		dirs, err := filepath.Glob(filepath.Join(data, "multilingual", corpus, "*"))
		require.NoError(t, err)
		require.NotEmpty(t, dirs, corpus)
		slices.Sort(dirs)
		for k, d := range dirs {
			if k%2 != 0 {
				continue
			}
			files, err := filepath.Glob(filepath.Join(d, "*.wav"))
			require.NoError(t, err)
			for _, f := range files {
				rel, err := filepath.Rel(data, f)
				require.NoError(t, err)
				cohort = append(cohort, rel)
			}
		}
	}
	list := filepath.Join(t.TempDir(), "cohort.txt")
	require.NoError(t, os.WriteFile(list, []byte(strings.Join(cohort, "\n")+"\n"), 0o644))
	res, _ := evalJSON(t, "--quiet", "--trials", filepath.Join(data, "trials", "dev_multilingual_1v1.txt"), "--audio-root", data, "--cohort", list)
	t.Logf("multilingual, venue cohort of %d recordings: %v", len(cohort), res)
	learned := res["training_cohort_files_left_out"].(float64)
	assert.Greater(t, learned, 0.0, "the model's learned speakers leave the venue")
	assert.Equal(t, float64(len(cohort))-learned, res["cohort_files"])
	pairs := res["venue_pairs"].(float64)
	assert.Greater(t, pairs, 10000.0, "every pair of the cohort's recordings of different speakers")
	assert.Equal(t, "venue", res["threshold_from"], "27 people make enough pairs for 1 %")
	thr, err := voiceprint.NewScorer(modeltest.Model(t)).Threshold(eval.DefaultFAR)
	require.NoError(t, err)
	assert.NotEqual(t, thr, res["threshold"].(float64), "the venue's threshold, not the model's")
	assert.LessOrEqual(t, res["far_at_threshold"].(float64), 0.02, "the false-accept rate holds")
	assert.Less(t, res["frr_at_threshold"].(float64), 0.35)
}
