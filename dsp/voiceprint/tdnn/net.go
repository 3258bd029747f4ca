// Package tdnn is a small neural speaker extractor: an x-vector-style time
// delay network over the voiceprint front end's speech frames.
//
// Five layers, each a 1-D convolution over frames (contexts 5, 3 dilated
// by 2, 3 dilated by 3, 1 and 1), a ReLU and batch normalisation; then
// statistics pooling (the mean and standard deviation of the last layer
// over the frames) and one affine layer to the embedding. The package
// holds the network's arithmetic: inference (Embed), and the training
// mode's forward and backward passes that dsp/voiceprint/train drives with
// its loss and optimiser. Every sum runs in a fixed order, so training is
// reproducible byte for byte (see gemm.go).
package tdnn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// ErrInvalid means a network's parameters are malformed or inconsistent.
var ErrInvalid = errors.New("tdnn: invalid network")

// bnEps is batch normalisation's ε, added to the variance.
const bnEps = 1e-5

// poolFloor is the smallest variance statistics pooling takes the square
// root of (its gradient is 0 below).
const poolFloor = 1e-5

// Config is a network's shape.
type Config struct {
	Input int `json:"input"` // values a frame
	Width int `json:"width"` // channels of the first four layers; the fifth has 3×Width
	Dim   int `json:"dim"`   // embedding values
}

// spec is one convolution layer's shape.
type spec struct{ in, out, ctx, dil int }

func (c Config) specs() []spec {
	w := c.Width
	return []spec{{c.Input, w, 5, 1}, {w, w, 3, 2}, {w, w, 3, 3}, {w, w, 1, 1}, {w, 3 * w, 1, 1}}
}

// Context is the frames one output frame of the last layer sees: an input
// shorter than that is repeated to reach it.
func (c Config) Context() int {
	n := 1
	for _, s := range c.specs() {
		n += (s.ctx - 1) * s.dil
	}
	return n
}

func (c Config) validate() error {
	if c.Input < 1 || c.Width < 1 || c.Dim < 1 || c.Input > 1<<12 || c.Width > 1<<12 || c.Dim > 1<<12 {
		return fmt.Errorf("%w: shape %+v", ErrInvalid, c)
	}
	return nil
}

// layer is a convolution, ReLU and batch normalisation. W is (ctx·in) × out:
// row k·in+i holds the weights of input value i at context step k.
type layer struct {
	spec
	W           mat
	B           []float32
	Gamma, Beta []float32
	// Mean and Var are the running statistics inference normalises with.
	Mean, Var []float32

	// Gradients, and what the backward pass needs from the forward one.
	gW                []float32
	gB, gGamma, gBeta []float32
	x, z, xhat        mat
	invStd            []float32
	// The training passes' buffers, reused from step to step (take).
	buf struct{ cols, z, xhat, y, dz, dcols, dx []float32 }
}

// Net is the network with its input normalisation. Embed may be called
// from several goroutines; Forward and Backward may not.
type Net struct {
	Config
	// Mu and Sd normalise each input value: (x - Mu) / Sd.
	Mu, Sd []float32
	layers []*layer
	// EW ((2·3·Width) × Dim) and EB map the pooled statistics to the
	// embedding.
	EW  mat
	EB  []float32
	gEW []float32
	gEB []float32
	// training cache
	crops, frames int
	pooled        mat
	last          mat // the last layer's output
	sd            []float32
	dyBuf         []float32 // the pooling's gradient, reused from step to step
	// Workers bounds the goroutines a matrix product of training uses.
	Workers int
}

// New returns a network of shape c initialised as PyTorch initialises its
// layers (weights and biases uniform in ±1/√fan-in, batch normalisation
// at identity), from rng; with a nil rng, the weights are zero.
func New(c Config, rng *rand.Rand) (*Net, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	n := &Net{Config: c, Mu: make([]float32, c.Input), Sd: make([]float32, c.Input), Workers: 1}
	for i := range n.Sd {
		n.Sd[i] = 1
	}
	uniform := func(v []float32, fanIn int) {
		if rng == nil {
			return
		}
		b := 1 / math.Sqrt(float64(fanIn))
		for i := range v {
			v[i] = float32((2*rng.Float64() - 1) * b)
		}
	}
	for _, s := range c.specs() {
		l := &layer{spec: s, W: newMat(s.ctx*s.in, s.out), B: make([]float32, s.out),
			Gamma: make([]float32, s.out), Beta: make([]float32, s.out),
			Mean: make([]float32, s.out), Var: make([]float32, s.out)}
		// PyTorch's Conv1d weight is out × in × ctx; drawing in that
		// order keeps the layout question out of the initialisation.
		w := make([]float32, s.out*s.in*s.ctx)
		uniform(w, s.in*s.ctx)
		for o := range s.out {
			for i := range s.in {
				for k := range s.ctx {
					l.W.data[(k*s.in+i)*s.out+o] = w[(o*s.in+i)*s.ctx+k]
				}
			}
		}
		uniform(l.B, s.in*s.ctx)
		for i := range l.Gamma {
			l.Gamma[i], l.Var[i] = 1, 1
		}
		n.layers = append(n.layers, l)
	}
	pool := 2 * 3 * c.Width
	n.EW, n.EB = newMat(pool, c.Dim), make([]float32, c.Dim)
	w := make([]float32, pool*c.Dim)
	uniform(w, pool)
	for e := range c.Dim {
		for p := range pool {
			n.EW.data[p*c.Dim+e] = w[e*pool+p]
		}
	}
	uniform(n.EB, pool)
	return n, nil
}

// Param is one parameter tensor and its gradient, for an optimiser.
type Param struct {
	Name        string
	Value, Grad []float32
}

// Params lists the trainable parameters in a fixed order, allocating
// their gradients (zero) on first use.
func (n *Net) Params() []Param {
	alloc := func(g *[]float32, v []float32) []float32 {
		if *g == nil {
			*g = make([]float32, len(v))
		}
		return *g
	}
	var ps []Param
	for i, l := range n.layers {
		p := fmt.Sprintf("layer%d.", i+1)
		ps = append(ps,
			Param{p + "weight", l.W.data, alloc(&l.gW, l.W.data)},
			Param{p + "bias", l.B, alloc(&l.gB, l.B)},
			Param{p + "gamma", l.Gamma, alloc(&l.gGamma, l.Gamma)},
			Param{p + "beta", l.Beta, alloc(&l.gBeta, l.Beta)})
	}
	return append(ps, Param{"embed.weight", n.EW.data, alloc(&n.gEW, n.EW.data)},
		Param{"embed.bias", n.EB, alloc(&n.gEB, n.EB)})
}

// ZeroGrad clears the gradients.
func (n *Net) ZeroGrad() {
	for _, p := range n.Params() {
		clear(p.Grad)
	}
}

// Embed returns the embedding of frames (rows of Input values, not yet
// normalised, one after another), computed with the running statistics:
// Accumulate and FromStats.
func (n *Net) Embed(frames []float32) ([]float32, error) {
	sum, sq := make([]float64, n.PoolDim()), make([]float64, n.PoolDim())
	count, err := n.Accumulate(sum, sq, frames)
	if err != nil {
		return nil, err
	}
	return n.FromStats(nil, sum, sq, count), nil
}

// PoolDim is the number of channels statistics pooling summarises.
func (n *Net) PoolDim() int { return 3 * n.Width }

// Accumulate runs frames (rows of Input values, not yet normalised, one
// after another; fewer than Context are repeated to reach it) through the
// layers with the running statistics, adds each output frame's values to
// sum and their squares to sq (PoolDim values each), and returns the
// number of output frames. Statistics of several recordings add up: the
// embedding of their sums pools all their frames.
func (n *Net) Accumulate(sum, sq []float64, frames []float32) (int, error) {
	return n.AccumulateWith(nil, sum, sq, frames)
}

// Scratch holds the buffers of AccumulateWith, for one goroutine to reuse
// from call to call. The zero value is ready.
type Scratch struct{ a, b, scale []float32 }

// take returns a rows × cols matrix over *buf, grown when short (its
// values are left as they were).
func take(buf *[]float32, rows, cols int) mat {
	if cap(*buf) < rows*cols {
		*buf = make([]float32, rows*cols)
	}
	return mat{data: (*buf)[:rows*cols], rows: rows, cols: cols, stride: cols}
}

// AccumulateWith is Accumulate with s's buffers (a nil s allocates
// them). A layer's context steps are computed as one matrix product each
// over shifted rows of its input, adding up in the order im2col's
// product would (the training forward pass), so both compute the same
// bits.
func (n *Net) AccumulateWith(s *Scratch, sum, sq []float64, frames []float32) (int, error) {
	if len(frames) == 0 || len(frames)%n.Input != 0 {
		return 0, fmt.Errorf("tdnn: %d values are not frames of %d", len(frames), n.Input)
	}
	if len(sum) != n.PoolDim() || len(sq) != n.PoolDim() {
		return 0, fmt.Errorf("tdnn: statistics of %d and %d values, the network pools %d", len(sum), len(sq), n.PoolDim())
	}
	if s == nil {
		s = new(Scratch)
	}
	rows := len(frames) / n.Input
	x := take(&s.a, max(rows, n.Context()), n.Input)
	for r := range x.rows {
		f := frames[(r%rows)*n.Input:]
		row := x.row(r)
		for i := range row {
			row[i] = (f[i] - n.Mu[i]) / n.Sd[i]
		}
	}
	in, out := &s.a, &s.b
	for _, l := range n.layers {
		tout := x.rows - (l.ctx-1)*l.dil
		z := take(out, tout, l.out)
		for r := range tout {
			copy(z.row(r), l.B)
		}
		for k := range l.ctx {
			shifted := mat{data: x.data[k*l.dil*x.stride:], rows: tout, cols: l.in, stride: x.stride}
			wk := mat{data: l.W.data[k*l.in*l.out:], rows: l.in, cols: l.out, stride: l.out}
			gemm(z, shifted, wk, 1)
		}
		// Batch normalisation with the running statistics:
		// y = (r - mean)·a + β, a = γ/√(var + ε).
		a := take(&s.scale, 1, l.out).data
		for o := range l.out {
			a[o] = float32(float64(l.Gamma[o]) / math.Sqrt(float64(l.Var[o])+bnEps))
		}
		for r := range z.rows {
			row := z.row(r)
			for o, v := range row {
				row[o] = (max(v, 0)-l.Mean[o])*a[o] + l.Beta[o]
			}
		}
		x = z
		in, out = out, in
	}
	for r := range x.rows {
		for j, v := range x.row(r) {
			sum[j] += float64(v)
			sq[j] += float64(v) * float64(v)
		}
	}
	return x.rows, nil
}

// FromStats returns in dst (allocated when short) the embedding of pooled
// statistics Accumulate gathered over count output frames (count > 0).
func (n *Net) FromStats(dst []float32, sum, sq []float64, count int) []float32 {
	c := n.PoolDim()
	p := newMat(1, 2*c)
	for j := range c {
		mean := sum[j] / float64(count)
		v := sq[j]/float64(count) - mean*mean
		p.data[j] = float32(mean)
		p.data[c+j] = float32(math.Sqrt(max(v, poolFloor)))
	}
	if cap(dst) < n.Dim {
		dst = make([]float32, n.Dim)
	}
	e := mat{data: dst[:n.Dim], rows: 1, cols: n.Dim, stride: n.Dim}
	copy(e.data, n.EB)
	gemm(e, p, n.EW, 1)
	return e.data
}

// conv returns the layer's convolution (before the ReLU) of x, which holds
// crops of equal length one after another, and x's frames laid out by
// im2col.
func (l *layer) conv(x mat, crops, workers int) (cols, z mat) {
	cols = im2col(&l.buf.cols, x, crops, l.spec)
	z = take(&l.buf.z, cols.rows, l.out)
	for r := range z.rows {
		copy(z.row(r), l.B)
	}
	gemm(z, cols, l.W, workers)
	return cols, z
}

// im2col lays out each output frame's context as one row of ctx·in
// values, in *buf (x itself when the context is one frame).
func im2col(buf *[]float32, x mat, crops int, s spec) mat {
	tin := x.rows / crops
	tout := tin - (s.ctx-1)*s.dil
	if s.ctx == 1 {
		return x
	}
	c := take(buf, crops*tout, s.ctx*s.in)
	for b := range crops {
		for t := range tout {
			row := c.row(b*tout + t)
			for k := range s.ctx {
				copy(row[k*s.in:(k+1)*s.in], x.row(b*tin+t+k*s.dil))
			}
		}
	}
	return c
}

// pool sets each row of p to the mean and standard deviation over frames
// of one crop of x; sd, when not nil, receives the standard deviations
// (with poolFloor's clamp, 0 where the variance was below it).
func pool(p, x mat, crops int, sd []float32) {
	t := x.rows / crops
	c := x.cols
	for b := range crops {
		out := p.row(b)
		for j := range c {
			var s float64
			for r := range t {
				s += float64(x.data[(b*t+r)*x.stride+j])
			}
			mean := s / float64(t)
			var v float64
			for r := range t {
				d := float64(x.data[(b*t+r)*x.stride+j]) - mean
				v += d * d
			}
			v /= float64(t)
			out[j] = float32(mean)
			out[c+j] = float32(math.Sqrt(max(v, poolFloor)))
			if sd != nil {
				sd[b*c+j] = out[c+j]
				if v < poolFloor {
					sd[b*c+j] = 0
				}
			}
		}
	}
}
