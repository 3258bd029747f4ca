package voiceprint

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// ErrTransform means a template transform cannot be made: a secret that is
// too short, or a dimension out of range.
var ErrTransform = errors.New("voiceprint: template transform")

// Template transform parameters.
const (
	// TransformBlock is the size of the blocks the transform rotates.
	TransformBlock = 256
	// TransformRotations is how many distinct block rotations a transform
	// draws; block k uses rotation k mod TransformRotations (the
	// permutation before them mixes the blocks).
	TransformRotations = 8
	// MinTransformSecret is the shortest secret a transform takes.
	MinTransformSecret = 16
	// MaxTransformDim caps the dimension of a transform.
	MaxTransformDim = 1 << 17
)

// TemplateTransform is a secret random orthogonal transform of templates
// synced upstream (PRIVACY.md rule 15): a random permutation of the
// coordinates, random signs, then block-wise random rotations (blocks of
// TransformBlock, each rotation drawn from the Haar measure; a last,
// shorter block gets its own). It is drawn from a per-batch secret: every
// template of one batch goes through the same transform, so that cosines
// (and therefore research on speaker similarity) are kept inside the
// batch, while a template of another batch, or the box's own copy, scores
// at chance against it. It never builds a dense d×d matrix: it holds
// d indices, d signs and at most TransformRotations+1 small rotations.
//
// Destroy it (Destroy) once the batch is sealed: without the secret or
// these tables the upstream copies cannot be linked back.
type TemplateTransform struct {
	dim   int
	perm  []int32
	signs []float32
	rots  [][]float32 // TransformBlock×TransformBlock, row-major
	tail  []float32   // r×r for the last block of r < TransformBlock values
	tmp   []float32
}

// NewTemplateTransform draws the transform of dimension dim from secret
// (at least MinTransformSecret bytes; the same secret and dim give the
// same transform). Errors: ErrTransform.
func NewTemplateTransform(secret []byte, dim int) (*TemplateTransform, error) {
	if len(secret) < MinTransformSecret {
		return nil, fmt.Errorf("%w: a secret of %d bytes (want at least %d)", ErrTransform, len(secret), MinTransformSecret)
	}
	if dim < 1 || dim > MaxTransformDim {
		return nil, fmt.Errorf("%w: dimension %d (want 1 to %d)", ErrTransform, dim, MaxTransformDim)
	}
	h := sha256.New()
	h.Write([]byte("voxward template transform v1\x00"))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(dim)))
	h.Write(secret)
	var seed [32]byte
	h.Sum(seed[:0])
	src := rand.NewChaCha8(seed)
	clear(seed[:])
	r := rand.New(src)

	t := &TemplateTransform{dim: dim, perm: make([]int32, dim), signs: make([]float32, dim), tmp: make([]float32, dim)}
	for i := range t.perm {
		t.perm[i] = int32(i)
	}
	r.Shuffle(dim, func(i, j int) { t.perm[i], t.perm[j] = t.perm[j], t.perm[i] })
	for i := range t.signs {
		t.signs[i] = 1
		if r.Uint64()&1 == 1 {
			t.signs[i] = -1
		}
	}
	full := dim / TransformBlock
	for k := 0; k < min(full, TransformRotations); k++ {
		t.rots = append(t.rots, randomRotation(r, TransformBlock))
	}
	if rest := dim % TransformBlock; rest > 0 {
		t.tail = randomRotation(r, rest)
	}
	return t, nil
}

// randomRotation draws an n×n orthogonal matrix (row-major) from the Haar
// measure: Gram–Schmidt on the rows of a Gaussian matrix, in float64.
func randomRotation(r *rand.Rand, n int) []float32 {
	q := make([]float64, n*n)
	for i := range q {
		q[i] = r.NormFloat64()
	}
	for i := 0; i < n; i++ {
		row := q[i*n : (i+1)*n]
		for pass := 0; pass < 2; pass++ { // twice is enough (Kahan)
			for j := 0; j < i; j++ {
				prev := q[j*n : (j+1)*n]
				var d float64
				for k := range row {
					d += row[k] * prev[k]
				}
				for k := range row {
					row[k] -= d * prev[k]
				}
			}
		}
		var nn float64
		for _, x := range row {
			nn += x * x
		}
		inv := 1 / math.Sqrt(nn)
		for k := range row {
			row[k] *= inv
		}
	}
	out := make([]float32, n*n)
	for i, x := range q {
		out[i] = float32(x)
	}
	clear(q)
	return out
}

// Dim is the dimension the transform takes.
func (t *TemplateTransform) Dim() int { return t.dim }

// Apply writes the transform of src to dst (allocated when short) and
// returns it. src and dst may not overlap. It panics when len(src) is not
// Dim or the transform was destroyed (a programmer's error).
func (t *TemplateTransform) Apply(dst, src []float32) []float32 {
	if t.perm == nil {
		panic("voiceprint: template transform used after Destroy")
	}
	if len(src) != t.dim {
		panic(fmt.Sprintf("voiceprint: template of %d values for a transform of %d", len(src), t.dim))
	}
	dst = grow(dst, t.dim)
	for i, p := range t.perm {
		t.tmp[i] = t.signs[i] * src[p]
	}
	b := TransformBlock
	full := t.dim / b
	for k := 0; k < full; k++ {
		rotate(dst[k*b:(k+1)*b], t.tmp[k*b:(k+1)*b], t.rots[k%len(t.rots)])
	}
	if t.tail != nil {
		rotate(dst[full*b:], t.tmp[full*b:], t.tail)
	}
	clear(t.tmp)
	return dst
}

// rotate sets dst = m·src for an n×n row-major m.
func rotate(dst, src, m []float32) {
	n := len(src)
	for i := range n {
		dst[i] = dotf(m[i*n:(i+1)*n], src)
	}
}

// Destroy zeroes the transform's tables: after it, nothing in memory
// reproduces the transform. Apply then panics.
func (t *TemplateTransform) Destroy() {
	clear(t.perm)
	clear(t.signs)
	for _, m := range t.rots {
		clear(m)
	}
	clear(t.tail)
	clear(t.tmp)
	t.perm, t.signs, t.rots, t.tail, t.tmp = nil, nil, nil, nil, nil
}
