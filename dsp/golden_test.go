package dsp_test

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/dsp"
	"github.com/voxward/voxward/internal/testenv"
)

// Golden tolerance, per file, against torchaudio.compliance.kaldi run in
// float64 (see ../shared/data/reference/README.md): float32 rounding alone
// reaches ~7e-3 in near-empty bins; a definitional mistake moves the mean
// by ≥ 1e-2.
const (
	goldenMeanTol = 1e-3
	goldenMaxTol  = 5e-2
)

// computeVariant computes one of the reference variants.
func computeVariant(t *testing.T, variant string, samples []float32) ([]float32, int) {
	t.Helper()
	switch variant {
	case "fbank80":
		o := dsp.DefaultFbankOptions()
		o.Mel.NumBins = 80
		f, err := dsp.NewFbank(o)
		require.NoError(t, err)
		return f.Compute(nil, samples), f.Dim()
	case "mfcc13":
		m, err := dsp.NewMFCC(dsp.DefaultMFCCOptions())
		require.NoError(t, err)
		return m.Compute(nil, samples), m.Dim()
	case "fbank40_hamming_nosnip":
		o := dsp.DefaultFbankOptions()
		o.Mel.NumBins = 40
		o.Frame.SnipEdges = false
		o.Frame.WindowType = dsp.WindowHamming
		f, err := dsp.NewFbank(o)
		require.NoError(t, err)
		return f.Compute(nil, samples), f.Dim()
	}
	t.Fatalf("unknown variant %q", variant)
	return nil, 0
}

func readMatrix(t *testing.T, path string) (vals []float64, rows, cols int) {
	t.Helper()
	fh, err := os.Open(path)
	require.NoError(t, err)
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if cols == 0 {
			cols = len(fields)
		}
		require.Len(t, fields, cols, "%s row %d", path, rows)
		for _, f := range fields {
			v, err := strconv.ParseFloat(f, 64)
			require.NoError(t, err)
			vals = append(vals, v)
		}
		rows++
	}
	require.NoError(t, sc.Err())
	return vals, rows, cols
}

// TestGoldenKaldi compares every reference file with our features.
func TestGoldenKaldi(t *testing.T) {
	data := testenv.SharedData(t)
	ref := filepath.Join(data, "reference")
	index, err := os.ReadFile(filepath.Join(ref, "INDEX.tsv"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(index)), "\n")[1:]
	require.NotEmpty(t, lines)
	for _, line := range lines {
		cols := strings.Split(line, "\t")
		file, wav, variant := cols[0], cols[1], cols[2]
		t.Run(file, func(t *testing.T) {
			samples, _, err := capture.ReadWAVFile(filepath.Join(data, wav), 0)
			require.NoError(t, err)
			got, dim := computeVariant(t, variant, samples)
			want, rows, wdim := readMatrix(t, filepath.Join(ref, file))
			require.Equal(t, wdim, dim, "dimension")
			require.Equal(t, rows, len(got)/dim, "frames")
			var sum, worst float64
			for i, w := range want {
				d := math.Abs(float64(got[i]) - w)
				sum += d
				worst = math.Max(worst, d)
			}
			mean := sum / float64(len(want))
			t.Logf("%s: %d×%d mean |Δ| %.2e, max |Δ| %.2e", variant, rows, dim, mean, worst)
			require.LessOrEqual(t, mean, goldenMeanTol, "mean absolute difference")
			require.LessOrEqual(t, worst, goldenMaxTol, "maximum absolute difference")
		})
	}
}
