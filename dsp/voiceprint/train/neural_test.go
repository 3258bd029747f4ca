package train

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// The margin softmax's gradients, with respect to the embeddings and the
// head's weights, agree with central differences of its loss (computed in
// float64, smooth away from the clamp).
func TestHeadLossGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	h := newHead(5, 4, r)
	for i := range h.w {
		h.w[i] = float32(r.NormFloat64())
	}
	emb := make([][]float32, 3)
	for b := range emb {
		emb[b] = make([]float32, 4)
		for i := range emb[b] {
			emb[b][i] = float32(r.NormFloat64())
		}
	}
	labels := []int{0, 3, 3}
	const margin, scale = 0.2, 5
	clear(h.g)
	_, _, dEmb := h.loss(emb, labels, margin, scale)
	grad := append([]float32(nil), h.g...)
	at := func() float64 {
		l, _, _ := h.loss(emb, labels, margin, scale)
		return l
	}
	check := func(what string, v *float32, want float32) {
		t.Helper()
		const eps = 1e-3
		o := *v
		*v = o + eps
		up := at()
		*v = o - eps
		down := at()
		*v = o
		if got := (up - down) / (2 * eps); math.Abs(got-float64(want)) > 1e-3*math.Max(1, math.Abs(got)) {
			t.Errorf("%s: gradient %.6f, central difference %.6f", what, want, got)
		}
	}
	for b := range emb {
		for i := range emb[b] {
			check("embedding", &emb[b][i], dEmb[b][i])
		}
	}
	for i := range h.w {
		check("head", &h.w[i], grad[i])
	}
}

// toySpeakers returns records of speakers whose frames scatter around a
// mean of their own.
func toySpeakers(r *rand.Rand, speakers, perSpeaker, frames, dim int) []NeuralRecord {
	var recs []NeuralRecord
	for s := range speakers {
		mean := make([]float64, dim)
		for i := range mean {
			mean[i] = r.NormFloat64()
		}
		for range perSpeaker {
			f := make([]float32, frames*dim)
			for i := range f {
				f[i] = float32(mean[i%dim] + r.NormFloat64())
			}
			recs = append(recs, NeuralRecord{Speaker: s, Frames: f})
		}
	}
	return recs
}

// Training learns to tell toy speakers apart, and gives the same network,
// bit for bit, whatever the number of goroutines.
func TestTrainNeuralLearnsAndRepeats(t *testing.T) {
	recs := toySpeakers(rand.New(rand.NewPCG(11, 12)), 6, 4, 120, 20)
	c := NeuralConfig{Width: 8, Dim: 8, Frames: 80, Batch: 12, Steps: 120, LR: 1e-2, Decay: 1e-4, Margin: 0.2, Scale: 10, Mask: true, Seed: 3}
	var first, last float64
	n1, err := TrainNeural(context.Background(), recs, 20, 6, c, 1, func(step, steps int, loss, acc float64) {
		if step <= 10 {
			first += loss / 10
		}
		if step > steps-10 {
			last += acc / 10
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if last < 0.9 {
		t.Errorf("the head names %.0f %% of the last steps' crops right, want ≥ 90 %% (first steps' loss %.2f)", 100*last, first)
	}
	n2, err := TrainNeural(context.Background(), recs, 20, 6, c, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := n1.Params(), n2.Params()
	for i := range p1 {
		for j, v := range p1[i].Value {
			if math.Float32bits(v) != math.Float32bits(p2[i].Value[j]) {
				t.Fatalf("%s[%d]: %v with one goroutine, %v with two", p1[i].Name, j, v, p2[i].Value[j])
			}
		}
	}
}

// Bad settings and records are errors, not panics.
func TestTrainNeuralRefuses(t *testing.T) {
	recs := toySpeakers(rand.New(rand.NewPCG(1, 2)), 2, 1, 20, 3)
	ok := NeuralConfig{Width: 4, Dim: 4, Frames: 20, Batch: 2, Steps: 1, LR: 1e-3, Scale: 10}
	short := ok
	short.Frames = 5
	for name, f := range map[string]func() error{
		"no records": func() error { _, err := TrainNeural(context.Background(), nil, 3, 2, ok, 1, nil); return err },
		"bad speaker": func() error {
			_, err := TrainNeural(context.Background(), []NeuralRecord{{Speaker: 5, Frames: recs[0].Frames}}, 3, 2, ok, 1, nil)
			return err
		},
		"ragged frames": func() error {
			_, err := TrainNeural(context.Background(), []NeuralRecord{{Frames: make([]float32, 4)}}, 3, 2, ok, 1, nil)
			return err
		},
		"short crops": func() error { _, err := TrainNeural(context.Background(), recs, 3, 2, short, 1, nil); return err },
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := TrainNeural(ctx, recs, 3, 2, ok, 1, nil); err == nil {
		t.Error("a cancelled context: no error")
	}
}
