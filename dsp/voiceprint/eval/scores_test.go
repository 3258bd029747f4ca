package eval_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
)

// A score file reads back as the trials and the exact scores written.
func TestScoresRoundTrip(t *testing.T) {
	trials := []eval.Trial{
		{Target: true, Enroll: []string{"a/1.wav"}, Test: "a/2.wav"},
		{Enroll: []string{"a/1.wav", "a/3.wav"}, Test: "b/1.wav"},
		{Enroll: []string{"b/1.wav"}, Test: "c/1.wav"},
	}
	scores := []float64{0.1 + 0.2, math.Copysign(0, -1), -1e-300}
	var b bytes.Buffer
	in := eval.ScoreFile{System: "gmm-ubm", Condition: "channel=telephone test-seconds=3", Trials: trials, Scores: scores}
	require.NoError(t, in.Write(&b))
	sf, err := eval.ParseScores(&b)
	require.NoError(t, err)
	assert.Equal(t, "gmm-ubm", sf.System)
	assert.Equal(t, "channel=telephone test-seconds=3", sf.Condition)
	assert.Equal(t, trials, sf.Trials)
	require.Len(t, sf.Scores, 3)
	for i, s := range scores {
		assert.Equal(t, math.Float64bits(s), math.Float64bits(sf.Scores[i]), "score %d exactly", i)
	}

	bad := in
	bad.System = "two words"
	require.ErrorContains(t, bad.Write(&b), "one word")
	bad = in
	bad.System = "no\u00a0break" // a space to strings.Fields, which reads it back
	require.ErrorContains(t, bad.Write(&b), "one word")
	bad = in
	bad.Condition = "two\nlines"
	require.ErrorContains(t, bad.Write(&b), "one line")
	bad = in
	bad.Scores = scores[:2]
	require.ErrorContains(t, bad.Write(&b), "3 trials, 2 scores")

	path := filepath.Join(t.TempDir(), "s.txt")
	require.NoError(t, os.WriteFile(path, []byte("1 0.5 a b\n"), 0o644))
	sf, err = eval.ReadScores(path)
	require.NoError(t, err)
	assert.Equal(t, "s.txt", sf.System, "without a system line, the file names it")
	assert.Empty(t, sf.Condition)
}

func TestParseScoresErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "no trials"},
		{"# system x\n", "no trials"},
		{"1 a b\n", "want 4 fields (LABEL SCORE ENROLL TEST), got 3"},
		{"1 NaN a b\n", `line 1: score "NaN" is not a finite number`},
		{"0 +Inf a b\n", "not a finite number"},
		{"1 1e999 a b\n", "not a finite number"},
		{"2 0.5 a b\n", `label "2" is neither 1 nor 0`},
		{"1 0.5 a,,c b\n", "empty enrolment path"},
		{"# system a\n# system b\n1 0 a b\n", `line 2: a second system, "b" after "a"`},
		{"# system \n1 0 a b\n", "not one word"},
		{"# system a b\n1 0 a b\n", `system name "a b" is not one word`},
	} {
		_, err := eval.ParseScores(strings.NewReader(c.in))
		require.ErrorIs(t, err, eval.ErrBadTrials, "%q", c.in)
		assert.ErrorContains(t, err, c.want, "%q", c.in)
	}
	_, err := eval.ReadScores(filepath.Join(t.TempDir(), "missing.txt"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func FuzzParseScores(f *testing.F) {
	f.Add([]byte("# system gmm-ubm\n# condition channel=none\n1 0.25 a.wav b.wav\n0 -3e-2 a.wav,c.wav d.wav\n"))
	f.Add([]byte("#conditionx\n# condition\t\r\n1 0 a b\n"))
	f.Add([]byte("# system a\u0085b\n# condition\u00a0x\n1 0 a b\n"))
	f.Add([]byte("# system a\n# system a\n1 0 a b\n"))
	f.Add([]byte("1 0x1p-3 , b\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		sf, err := eval.ParseScores(bytes.NewReader(b))
		if err != nil {
			require.ErrorIs(t, err, eval.ErrBadTrials)
			return
		}
		require.NotEmpty(t, sf.Trials)
		require.Len(t, sf.Scores, len(sf.Trials))
		// What reads, writes and reads back the same.
		var out bytes.Buffer
		if sf.System == "" {
			sf.System = "x"
		}
		require.NoError(t, sf.Write(&out))
		again, err := eval.ParseScores(&out)
		require.NoError(t, err)
		assert.Equal(t, sf, again)
	})
}

// A system compared with itself differs by exactly nothing in every round
// of the bootstrap: the comparison is paired (independent draws for the
// two would spread the difference). A system that errs on every pair of
// speakers where the other errs on none has the lower EER in every
// round, and an interval of differences below zero.
func TestCompare(t *testing.T) {
	perfect := func(a, b, k int) float64 {
		if a == b {
			return 1
		}
		return -1
	}
	trials, scores := pairList(8, 20, perfect)
	r, err := eval.NewResult(trials, scores, time.Now())
	require.NoError(t, err)
	require.NoError(t, r.Compare(trials, &eval.ScoreFile{System: "itself", Trials: trials, Scores: scores}))
	require.Len(t, r.Against, 1)
	same := r.Against[0]
	assert.Equal(t, "itself", same.System)
	assert.Zero(t, same.EERDiff)
	require.NotNil(t, same.EERDiffCI90)
	assert.Equal(t, eval.Interval{0, 0}, *same.EERDiffCI90)
	assert.Zero(t, *same.LowerEERRounds)

	// The other system accepts 1 to 4 of each pair of speakers' 20
	// impostor trials above every target.
	_, worse := pairList(8, 20, func(a, b, k int) float64 {
		if a != b && k <= (a+b)%4 {
			return 2
		}
		return perfect(a, b, k)
	})
	require.NoError(t, r.Compare(trials, &eval.ScoreFile{System: "worse", Trials: trials, Scores: worse}))
	c := r.Against[1]
	assert.Greater(t, c.EER, 0.0)
	assert.InDelta(t, -c.EER, c.EERDiff, 1e-15, "the result's EER is 0")
	t.Logf("EER difference %.4f, 90 %% interval %v, lower in %.3f of rounds", c.EERDiff, *c.EERDiffCI90, *c.LowerEERRounds)
	assert.Less(t, c.EERDiffCI90[1], 0.0)
	assert.Less(t, c.EERDiffCI90[0], c.EERDiff)
	assert.Greater(t, c.EERDiffCI90[1], c.EERDiff)
	assert.Equal(t, 1.0, *c.LowerEERRounds)

	// Other trials, or the same in another order, are refused.
	swapped := append([]eval.Trial(nil), trials...)
	swapped[0], swapped[1] = swapped[1], swapped[0]
	err = r.Compare(trials, &eval.ScoreFile{System: "other", Trials: swapped, Scores: scores})
	require.ErrorIs(t, err, eval.ErrOtherTrials)
	assert.ErrorContains(t, err, "trial 1 is s0/0.wav against s0/2.wav in other's scores, s0/0.wav against s0/1.wav here")
	err = r.Compare(trials, &eval.ScoreFile{System: "short", Trials: trials[1:], Scores: scores[1:]})
	require.ErrorIs(t, err, eval.ErrOtherTrials)
	assert.Len(t, r.Against, 2, "a refused comparison adds nothing")

	// Too few speakers: the difference without an interval.
	few, fewScores := pairList(3, 5, perfect)
	r, err = eval.NewResult(few, fewScores, time.Now())
	require.NoError(t, err)
	require.NoError(t, r.Compare(few, &eval.ScoreFile{System: "x", Trials: few, Scores: fewScores}))
	assert.Nil(t, r.Against[0].EERDiffCI90)
	assert.Nil(t, r.Against[0].LowerEERRounds)
}
