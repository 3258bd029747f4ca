package tdnn

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// torchTensors are a layer's tensors in PyTorch's layouts.
type torchTensors struct {
	Weight []float64 `json:"weight"`
	Bias   []float64 `json:"bias"`
}

type torchParams struct {
	Convs []torchTensors `json:"convs"`
	Norms []torchTensors `json:"norms"`
	Emb   torchTensors   `json:"emb"`
}

// golden is testdata/golden.json (scripts/research/tdnn-golden.py).
type golden struct {
	Input, Width, Dim, Crops, Frames int
	X                                []float64
	DEmb                             []float64 `json:"demb"`
	Params                           torchParams
	Embeddings                       []float64
	Grads                            torchParams
	Running                          []struct{ Mean, Var []float64 }
	Inference                        []float64
}

// fromTorch returns p's tensors in the network's layouts, in Params' order.
func fromTorch(n *Net, p torchParams) [][]float64 {
	var out [][]float64
	for i, s := range n.Config.specs() {
		w := make([]float64, s.ctx*s.in*s.out)
		for o := range s.out {
			for in := range s.in {
				for k := range s.ctx {
					w[(k*s.in+in)*s.out+o] = p.Convs[i].Weight[(o*s.in+in)*s.ctx+k]
				}
			}
		}
		out = append(out, w, p.Convs[i].Bias, p.Norms[i].Weight, p.Norms[i].Bias)
	}
	pool := n.EW.rows
	w := make([]float64, pool*n.Dim)
	for e := range n.Dim {
		for q := range pool {
			w[q*n.Dim+e] = p.Emb.Weight[e*pool+q]
		}
	}
	return append(out, w, p.Emb.Bias)
}

// near reports whether got is want up to float32 rounding through the
// network: within tol of the largest magnitude in want.
func near(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, PyTorch %d", what, len(got), len(want))
	}
	var scale float64
	for _, v := range want {
		scale = max(scale, math.Abs(v))
	}
	for i, v := range got {
		if d := math.Abs(float64(v) - want[i]); d > tol*scale {
			t.Fatalf("%s[%d] = %.7g, PyTorch (float64) %.7g", what, i, v, want[i])
		}
	}
}

func f32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// The network computes what PyTorch computes in float64 from the same
// weights and batch (testdata/golden.json): the training-mode embeddings,
// the gradient of every parameter, the running statistics, and the
// inference-mode embedding.
func TestGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	n, err := New(Config{Input: g.Input, Width: g.Width, Dim: g.Dim}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	ps := n.Params()
	for i, v := range fromTorch(n, g.Params) {
		if len(v) != len(ps[i].Value) {
			t.Fatalf("%s: %d values in the golden file, %d in the network", ps[i].Name, len(v), len(ps[i].Value))
		}
		copy(ps[i].Value, f32(v))
	}
	for _, workers := range []int{1, 2} {
		n.Workers = workers
		for _, l := range n.layers {
			for j := range l.Mean {
				l.Mean[j], l.Var[j] = 0, 1
			}
		}
		e, err := n.Forward(f32(g.X), g.Crops)
		if err != nil {
			t.Fatal(err)
		}
		var flatE []float32
		for _, row := range e {
			flatE = append(flatE, row...)
		}
		near(t, "embeddings", flatE, g.Embeddings, 1e-5)
		demb := f32(g.DEmb)
		rows := make([][]float32, g.Crops)
		for r := range rows {
			rows[r] = demb[r*g.Dim : (r+1)*g.Dim]
		}
		n.ZeroGrad()
		if err := n.Backward(rows); err != nil {
			t.Fatal(err)
		}
		for i, want := range fromTorch(n, g.Grads) {
			near(t, ps[i].Name+" gradient", ps[i].Grad, want, 1e-4)
		}
		for i, l := range n.layers {
			near(t, "running mean", l.Mean, g.Running[i].Mean, 1e-5)
			near(t, "running variance", l.Var, g.Running[i].Var, 1e-5)
		}
	}
	e, err := n.Embed(f32(g.X)[:g.Frames*g.Input])
	if err != nil {
		t.Fatal(err)
	}
	near(t, "inference embedding", e, g.Inference, 1e-5)
}

// Inference's shifted products sum in im2col's order: the layers'
// outputs, and so the pooled statistics, are the training forward pass's
// convolution bit for bit (with the running statistics' normalisation).
func TestInferenceMatchesIm2col(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	n, err := New(Config{Input: 60, Width: 16, Dim: 8}, r)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range n.layers {
		for j := range l.Mean {
			l.Mean[j], l.Var[j] = float32(r.Float64()), float32(0.5+r.Float64())
		}
	}
	frames := make([]float32, 137*60)
	for i := range frames {
		frames[i] = float32(r.NormFloat64())
	}
	sum, sq := make([]float64, n.PoolDim()), make([]float64, n.PoolDim())
	var s Scratch
	for range 2 { // the second time with s's buffers as the first left them
		clear(sum)
		clear(sq)
		if _, err := n.AccumulateWith(&s, sum, sq, frames); err != nil {
			t.Fatal(err)
		}
	}
	x := newMat(137, 60)
	for i, v := range frames {
		x.data[i] = (v - n.Mu[i%60]) / n.Sd[i%60]
	}
	for _, l := range n.layers {
		_, z := l.conv(x, 1, 1)
		for rr := range z.rows {
			row := z.row(rr)
			for o, v := range row {
				a := float32(float64(l.Gamma[o]) / math.Sqrt(float64(l.Var[o])+bnEps))
				row[o] = (max(v, 0)-l.Mean[o])*a + l.Beta[o]
			}
		}
		x = z
	}
	for j := range x.cols {
		var want float64
		for rr := range x.rows {
			want += float64(x.row(rr)[j])
		}
		if want != sum[j] {
			t.Fatalf("channel %d: pooled sum %v, im2col's %v", j, sum[j], want)
		}
	}
}
