package voiceprint_test

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/dsp/voiceprint"
)

func randVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// The transform is orthogonal (inner products kept) for any dimension,
// full blocks or not, and depends on the secret only.
func TestTemplateTransformIsOrthogonal(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	r := rand.New(rand.NewPCG(3, 4))
	for _, dim := range []int{1, 7, 255, 256, 257, 512, 1000, 3000} {
		tr, err := voiceprint.NewTemplateTransform(secret, dim)
		require.NoError(t, err)
		require.Equal(t, dim, tr.Dim())
		a, b := randVec(r, dim), randVec(r, dim)
		ta, tb := tr.Apply(nil, a), tr.Apply(nil, b)
		tol := 1e-4 * math.Sqrt(dot(a, a)*dot(b, b))
		assert.InDelta(t, dot(a, b), dot(ta, tb), tol, "dim %d: <Ta,Tb> = %g, want <a,b> = %g", dim, dot(ta, tb), dot(a, b))
		assert.InDelta(t, dot(a, a), dot(ta, ta), 1e-4*dot(a, a), "dim %d: |Ta|²", dim)

		again, err := voiceprint.NewTemplateTransform(secret, dim)
		require.NoError(t, err)
		assert.Equal(t, ta, again.Apply(nil, a), "dim %d: the same secret gave another transform", dim)
		if dim >= 256 {
			other, err := voiceprint.NewTemplateTransform([]byte("another secret of 32 bytes......"), dim)
			require.NoError(t, err)
			to := other.Apply(nil, a)
			cos := dot(ta, to) / math.Sqrt(dot(ta, ta)*dot(to, to))
			assert.Less(t, math.Abs(cos), 5/math.Sqrt(float64(dim)), "dim %d: two secrets' copies of one vector have cosine %.3f", dim, cos)
		}
	}
}

// A transformed vector is not its input: no coordinate is kept, and the
// cosine with the input is at chance.
func TestTemplateTransformHidesTheInput(t *testing.T) {
	const dim = 30720 // today's voiceprint: no dense d×d matrix is built
	tr, err := voiceprint.NewTemplateTransform([]byte("a per-batch secret, 32 bytes...."), dim)
	require.NoError(t, err)
	a := randVec(rand.New(rand.NewPCG(5, 6)), dim)
	ta := tr.Apply(nil, a)
	cos := dot(a, ta) / math.Sqrt(dot(a, a)*dot(ta, ta))
	assert.Less(t, math.Abs(cos), 5/math.Sqrt(dim), "cos(a, Ta) = %.4f", cos)
	same := 0
	for i := range a {
		if a[i] == ta[i] || a[i] == -ta[i] {
			same++
		}
	}
	assert.Less(t, same, 3, "%d coordinates kept", same)

	tr.Destroy()
	assert.Panics(t, func() { tr.Apply(nil, a) }, "a destroyed transform still works")
}

func TestTemplateTransformRefusesBadInput(t *testing.T) {
	_, err := voiceprint.NewTemplateTransform([]byte("short"), 10)
	require.ErrorIs(t, err, voiceprint.ErrTransform)
	for _, dim := range []int{0, -1, voiceprint.MaxTransformDim + 1} {
		_, err = voiceprint.NewTemplateTransform(make([]byte, 32), dim)
		require.ErrorIs(t, err, voiceprint.ErrTransform, "dim %d", dim)
	}
	tr, err := voiceprint.NewTemplateTransform(make([]byte, 32), 10)
	require.NoError(t, err)
	assert.Panics(t, func() { tr.Apply(nil, make([]float32, 11)) })
}

func BenchmarkTemplateTransform(b *testing.B) {
	for _, dim := range []int{512, 30720} {
		b.Run("dim="+strconv.Itoa(dim), func(b *testing.B) {
			v := randVec(rand.New(rand.NewPCG(1, 1)), dim)
			b.Run("new", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					_, _ = voiceprint.NewTemplateTransform(make([]byte, 32), dim)
				}
			})
			b.Run("apply", func(b *testing.B) {
				tr, _ := voiceprint.NewTemplateTransform(make([]byte, 32), dim)
				dst := make([]float32, dim)
				b.ReportAllocs()
				for b.Loop() {
					tr.Apply(dst, v)
				}
			})
		})
	}
}
