package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/voxward/voxward/dsp/voiceprint/tdnn"
)

// Training of the small neural extractor (dsp/voiceprint/tdnn): an
// additive angular margin softmax over the training speakers on random
// crops of their utterances' speech frames, with SpecAugment-style
// masking, optimised by Adam with a cosine learning-rate schedule. Every
// random draw comes from one seeded generator and every sum runs in a
// fixed order, so the same records and settings give the same network
// byte for byte.

// NeuralConfig holds the neural extractor's training settings.
type NeuralConfig struct {
	Width  int     // channels of the network's first four layers
	Dim    int     // embedding values
	Frames int     // crop length in frames
	Batch  int     // crops a step
	Steps  int     // optimiser steps
	LR     float64 // peak learning rate (cosine schedule down to 1e-5)
	Decay  float64 // L2 weight decay, added to the gradients (as torch.optim.Adam's)
	Margin float64 // additive angular margin (radians), reached over the first 30 % of the steps
	Scale  float64 // logit scale
	Mask   bool    // SpecAugment-style masking of the crops
	Seed   uint64
	// Speeds are the speed perturbations (eval.Speed, in percent) whose
	// copies of every training utterance, in every channel, join the
	// network's training, each speed's voices as speakers of their own:
	// a speaker played 10 % faster is a voice with a shorter vocal tract
	// and a higher pitch (none: the voices as recorded only).
	Speeds []int
}

// DefaultNeuralConfig is the network measured best in the research
// (dsp/voiceprint/model/README.md, "A small neural extractor").
var DefaultNeuralConfig = NeuralConfig{Width: 64, Dim: 256, Frames: 200, Batch: 64, Steps: 2000,
	LR: 2e-3, Decay: 2e-4, Margin: 0.2, Scale: 30, Mask: true, Seed: 1}

// speedsID names the speed perturbations in a model id ("-sp90-110"; ""
// without).
func (c NeuralConfig) speedsID() string {
	id := ""
	for i, p := range c.Speeds {
		if i == 0 {
			id = "-sp"
		} else {
			id += "-"
		}
		id += strconv.Itoa(p)
	}
	return id
}

// NeuralRecord is one training utterance (in one channel): its speaker
// (0, 1, … in the order of the speakers) and its speech frames, rows of
// the network's input values.
type NeuralRecord struct {
	Speaker int
	Frames  []float32
}

// NeuralProgress, when not nil, is told of each step's loss and the
// fraction of crops the head classified right.
type NeuralProgress func(step, steps int, loss, accuracy float64)

// TrainNeural trains a network on records (dim values a frame) of
// speakers speakers with up to workers goroutines; the result does not
// depend on workers.
func TrainNeural(ctx context.Context, records []NeuralRecord, dim, speakers int, c NeuralConfig, workers int, progress NeuralProgress) (*tdnn.Net, error) {
	if len(records) == 0 || speakers < 2 || dim < 1 || c.Batch < 1 || c.Steps < 1 || c.Frames < 1 {
		return nil, fmt.Errorf("train: neural extractor: %d records of %d speakers, settings %+v", len(records), speakers, c)
	}
	var usable []NeuralRecord
	for _, r := range records {
		if r.Speaker < 0 || r.Speaker >= speakers || len(r.Frames)%dim != 0 {
			return nil, fmt.Errorf("train: neural extractor: a record of speaker %d with %d values (%d a frame)", r.Speaker, len(r.Frames), dim)
		}
		if len(r.Frames) > 0 {
			usable = append(usable, r)
		}
	}
	if len(usable) == 0 {
		return nil, errors.New("train: neural extractor: no record holds a frame")
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x7464_6e6e)) // "tdnn"
	net, err := tdnn.New(tdnn.Config{Input: dim, Width: c.Width, Dim: c.Dim}, rng)
	if err != nil {
		return nil, err
	}
	net.Workers = workers
	if c.Frames < net.Context() {
		return nil, fmt.Errorf("train: neural extractor: crops of %d frames, the network needs %d", c.Frames, net.Context())
	}
	inputStats(net, usable)
	head := newHead(speakers, c.Dim, rng)
	params := append(net.Params(), tdnn.Param{Name: "head", Value: head.w, Grad: head.g})
	opt := newAdam(params)
	batch := make([]float32, c.Batch*c.Frames*dim)
	labels := make([]int, c.Batch)
	for step := range c.Steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		frac := float64(step) / float64(c.Steps)
		lr := c.LR*0.5*(1+math.Cos(math.Pi*frac)) + 1e-5
		margin := c.Margin * min(1, frac/0.3)
		for b := range c.Batch {
			r := usable[rng.IntN(len(usable))]
			labels[b] = r.Speaker
			crop := batch[b*c.Frames*dim : (b+1)*c.Frames*dim]
			cropFrames(crop, r.Frames, dim, rng)
			normaliseInput(crop, net.Mu, net.Sd)
			if c.Mask {
				maskCrop(crop, dim, rng)
			}
		}
		emb, err := net.Forward(batch, c.Batch)
		if err != nil {
			return nil, err
		}
		net.ZeroGrad()
		clear(head.g)
		loss, acc, dEmb := head.loss(emb, labels, margin, c.Scale)
		if err := net.Backward(dEmb); err != nil {
			return nil, err
		}
		opt.step(lr, c.Decay)
		if progress != nil {
			progress(step+1, c.Steps, loss, acc)
		}
	}
	return net, nil
}

// inputStats sets the network's input normalisation to the mean and
// standard deviation of every frame of records.
func inputStats(net *tdnn.Net, records []NeuralRecord) {
	dim := net.Input
	sum, sq := make([]float64, dim), make([]float64, dim)
	n := 0
	for _, r := range records {
		for i, v := range r.Frames {
			sum[i%dim] += float64(v)
		}
		n += len(r.Frames) / dim
	}
	for i := range sum {
		sum[i] /= float64(n)
	}
	for _, r := range records {
		for i, v := range r.Frames {
			d := float64(v) - sum[i%dim]
			sq[i%dim] += d * d
		}
	}
	for i := range dim {
		net.Mu[i] = float32(sum[i])
		net.Sd[i] = float32(math.Sqrt(sq[i]/float64(n)) + 1e-5)
	}
}

// cropFrames fills crop with a random run of frames, or with the frames
// repeated when there are fewer.
func cropFrames(crop, frames []float32, dim int, rng *rand.Rand) {
	rows, want := len(frames)/dim, len(crop)/dim
	if rows >= want {
		s := rng.IntN(rows-want+1) * dim
		copy(crop, frames[s:s+len(crop)])
		return
	}
	for i := 0; i < len(crop); i += len(frames) {
		copy(crop[i:], frames)
	}
}

func normaliseInput(x, mu, sd []float32) {
	dim := len(mu)
	for i := range x {
		x[i] = (x[i] - mu[i%dim]) / sd[i%dim]
	}
}

// maskCrop sets two runs of up to 20 frames and one band of up to 10
// values of a normalised crop to 0, the mean.
func maskCrop(crop []float32, dim int, rng *rand.Rand) {
	t := len(crop) / dim
	for range 2 {
		w := rng.IntN(min(21, t+1))
		s := rng.IntN(t - w + 1)
		clear(crop[s*dim : (s+w)*dim])
	}
	w := rng.IntN(min(11, dim+1))
	s := rng.IntN(dim - w + 1)
	for r := range t {
		clear(crop[r*dim+s : r*dim+s+w])
	}
}

// head is the training speakers' classifier: one row of weights a
// speaker, compared with an embedding by the cosine.
type head struct {
	speakers, dim int
	w, g          []float32
}

func newHead(speakers, dim int, rng *rand.Rand) *head {
	h := &head{speakers: speakers, dim: dim, w: make([]float32, speakers*dim), g: make([]float32, speakers*dim)}
	for i := range h.w {
		h.w[i] = float32(0.01 * rng.NormFloat64())
	}
	return h
}

// unitVec returns v / max(|v|, 1e-12) and that length.
func unitVec(v []float32) ([]float64, float64) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	n := max(math.Sqrt(s), 1e-12)
	u := make([]float64, len(v))
	for i, x := range v {
		u[i] = float64(x) / n
	}
	return u, n
}

// loss returns the additive angular margin softmax's mean cross-entropy
// over the batch, the fraction of embeddings whose nearest speaker is
// their own, and the loss's gradient with respect to the embeddings; it
// adds the gradient of the head's weights to h.g.
func (h *head) loss(emb [][]float32, labels []int, margin, scale float64) (loss, acc float64, dEmb [][]float32) {
	hs := make([][]float64, h.speakers)
	hn := make([]float64, h.speakers)
	for s := range hs {
		hs[s], hn[s] = unitVec(h.w[s*h.dim : (s+1)*h.dim])
	}
	dh := make([][]float64, h.speakers)
	for s := range dh {
		dh[s] = make([]float64, h.dim)
	}
	inv := 1 / float64(len(emb))
	dEmb = make([][]float32, len(emb))
	cos, logits, dcos := make([]float64, h.speakers), make([]float64, h.speakers), make([]float64, h.speakers)
	for b, e := range emb {
		eu, en := unitVec(e)
		y := labels[b]
		best := 0
		for s := range cos {
			var d float64
			for i, v := range eu {
				d += v * hs[s][i]
			}
			cos[s], logits[s] = d, scale*d
			if d > cos[best] {
				best = s
			}
		}
		if best == y {
			acc += inv
		}
		c := cos[y]
		clamped := c <= -1+1e-6 || c >= 1-1e-6
		theta := math.Acos(min(max(c, -1+1e-6), 1-1e-6))
		logits[y] = scale * math.Cos(theta+margin)
		mx := logits[0]
		for _, l := range logits {
			mx = max(mx, l)
		}
		var z float64
		for _, l := range logits {
			z += math.Exp(l - mx)
		}
		loss += inv * (mx + math.Log(z) - logits[y])
		for s, l := range logits {
			p := math.Exp(l-mx) / z
			if s == y {
				p--
			}
			dcos[s] = inv * scale * p
		}
		if clamped {
			dcos[y] = 0
		} else {
			dcos[y] *= math.Sin(theta+margin) / math.Sin(theta)
		}
		de := make([]float64, h.dim)
		for s, g := range dcos {
			for i := range de {
				de[i] += g * hs[s][i]
				dh[s][i] += g * eu[i]
			}
		}
		dEmb[b] = unitGrad(eu, en, de)
	}
	for s := range dh {
		g := unitGrad(hs[s], hn[s], dh[s])
		for i, v := range g {
			h.g[s*h.dim+i] += v
		}
	}
	return loss, acc, dEmb
}

// unitGrad is the gradient with respect to v of a function of u = v/n,
// given its gradient du: (du - u(u·du)) / n.
func unitGrad(u []float64, n float64, du []float64) []float32 {
	var d float64
	for i := range u {
		d += u[i] * du[i]
	}
	out := make([]float32, len(u))
	for i := range u {
		out[i] = float32((du[i] - u[i]*d) / n)
	}
	return out
}

// adam is torch.optim.Adam (β = 0.9, 0.999; ε = 1e-8) with its weight
// decay added to the gradient.
type adam struct {
	params []tdnn.Param
	m, v   [][]float32
	t      int
}

func newAdam(params []tdnn.Param) *adam {
	a := &adam{params: params}
	for _, p := range params {
		a.m = append(a.m, make([]float32, len(p.Value)))
		a.v = append(a.v, make([]float32, len(p.Value)))
	}
	return a
}

func (a *adam) step(lr, decay float64) {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	a.t++
	c1 := 1 - math.Pow(b1, float64(a.t))
	c2 := 1 - math.Pow(b2, float64(a.t))
	for k, p := range a.params {
		m, v := a.m[k], a.v[k]
		for i, w := range p.Value {
			g := float64(p.Grad[i]) + decay*float64(w)
			mi := b1*float64(m[i]) + (1-b1)*g
			vi := b2*float64(v[i]) + (1-b2)*g*g
			m[i], v[i] = float32(mi), float32(vi)
			p.Value[i] = float32(float64(w) - lr*(mi/c1)/(math.Sqrt(vi/c2)+eps))
		}
	}
}
