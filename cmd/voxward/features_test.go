package main

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseRows(t *testing.T, s string) [][]float64 {
	t.Helper()
	var rows [][]float64
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		require.NotContains(t, line, "  ", "values separated by one space")
		var row []float64
		for _, f := range strings.Split(line, " ") {
			v, err := strconv.ParseFloat(f, 64)
			require.NoError(t, err, "value %q", f)
			row = append(row, v)
		}
		rows = append(rows, row)
	}
	return rows
}

// TestFeaturesCommand runs the command on a golden case and compares the
// printed text with torchaudio's output.
func TestFeaturesCommand(t *testing.T) {
	wav := "../../testdata/dsp/signal16000.wav"
	cases := []struct {
		args []string
		ref  string
	}{
		{[]string{"features", "fbank", wav}, "../../testdata/dsp/fbank_16000_00.txt"},
		{[]string{"features", "mfcc", "--use-energy", wav}, "../../testdata/dsp/mfcc_16000_09.txt"},
		// flags after the file, as users type them too
		{[]string{"features", "fbank", wav, "--num-mel-bins", "40", "--use-energy"}, "../../testdata/dsp/fbank_16000_01.txt"},
	}
	for _, c := range cases {
		code, out, errs := runCLI(t, "", c.args...)
		require.Equal(t, 0, code, "%v: stderr %s", c.args, errs)
		got := parseRows(t, out)
		b, err := os.ReadFile(c.ref)
		require.NoError(t, err)
		want := parseRows(t, string(b))
		require.Equal(t, len(want), len(got), "%v: frames", c.args)
		for i := range want {
			require.Equal(t, len(want[i]), len(got[i]), "%v: frame %d dims", c.args, i)
			for j := range want[i] {
				require.InDelta(t, want[i][j], got[i][j], 5e-2, "%v: frame %d coefficient %d", c.args, i, j)
			}
		}
	}
}

func TestFeaturesBadInput(t *testing.T) {
	dir := t.TempDir()
	trunc := filepath.Join(dir, "truncated.wav")
	b, err := os.ReadFile("../../testdata/dsp/signal16000.wav")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(trunc, b[:len(b)/2], 0o644))
	junk := filepath.Join(dir, "junk.wav")
	require.NoError(t, os.WriteFile(junk, []byte("this is not audio"), 0o644))

	cases := []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"features", "fbank", trunc}, 1, trunc + ": malformed WAV: truncated"},
		{[]string{"features", "mfcc", junk}, 1, junk + ": malformed WAV"},
		{[]string{"features", "fbank", filepath.Join(dir, "missing.wav")}, 1, "missing.wav"},
		{[]string{"features", "fbank", "--sample-frequency", "8000", "../../testdata/dsp/signal16000.wav"}, 1, "sample rate 16000 Hz differs from --sample-frequency 8000"},
		{[]string{"features", "fbank", "--vtln-warp", "0.9", "x.wav"}, 2, "VTLN"},
		{[]string{"features", "fbank", "--window-type", "kaiser", "x.wav"}, 2, "window type"},
		{[]string{"features", "fbank", "--num-mel-bins", "eighty", "x.wav"}, 2, "invalid value"},
		{[]string{"features", "fbank"}, 2, "want one WAV file"},
		{[]string{"features", "x.wav"}, 2, "fbank or mfcc"},
		{[]string{"features", "fbank", "--channel", "1", "../../testdata/dsp/signal16000.wav"}, 1, "channel 1 out of range"},
		{[]string{"features", "fbank", dir}, 1, dir + ": not a regular file: a directory"},
	}
	for _, c := range cases {
		code, out, errs := runCLI(t, "", c.args...)
		assert.Equal(t, c.code, code, "%v: exit status (stderr %q)", c.args, errs)
		assert.Empty(t, out, "%v: nothing on stdout", c.args)
		assert.Contains(t, errs, c.contains, "%v", c.args)
		assert.NotContains(t, errs, "goroutine", "%v: no stack trace", c.args)
		if c.code == 1 {
			assert.Equal(t, 1, strings.Count(errs, "\n"), "%v: one line: %q", c.args, errs)
		}
	}
}

func TestFeaturesPrecision(t *testing.T) {
	// At least 6 significant digits: every printed value reads back as the
	// same float32.
	code, out, _ := runCLI(t, "", "features", "fbank", "../../testdata/dsp/signal8000.wav", "--sample-frequency", "8000")
	require.Equal(t, 0, code)
	for _, row := range parseRows(t, out) {
		for _, v := range row {
			f := float32(v)
			assert.Equal(t, strconv.FormatFloat(float64(f), 'g', -1, 32), strconv.FormatFloat(v, 'g', -1, 32))
			assert.False(t, math.IsNaN(v))
		}
	}
}
