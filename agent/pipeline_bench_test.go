package agent

import (
	"context"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/internal/modeltest"
	"github.com/voxward/voxward/vault"
)

// BenchmarkPipelineBlock is the live path for one 100 ms block: a Read
// through the consent gate (level meter included) from the tone source
// unpaced, then fbank (80 mel bins). x_realtime is audio seconds per
// processing second on one core; the machine is shared, so the figure is
// noisy.
func BenchmarkPipelineBlock(b *testing.B) {
	dev, err := capture.ParseSource("tone?fast=1", nil)
	if err != nil {
		b.Fatal(err)
	}
	g := capture.NewGate(dev, nil)
	defer g.Close()
	ctx := context.Background()
	lease, err := g.Acquire(ctx, "benchmark", 0)
	if err != nil {
		b.Fatal(err)
	}
	defer lease.Release()
	p, err := newPipeline(g, capture.SystemClock{}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]float32, pipelineBlock)
	var feats []float32
	b.ReportAllocs()
	for b.Loop() {
		n, err := g.Read(ctx, buf)
		if err != nil {
			b.Fatal(err)
		}
		feats = p.process(feats[:0], buf[:n])
	}
	audio := float64(p.samples.Load()) / capture.SampleRate
	b.ReportMetric(audio/b.Elapsed().Seconds(), "x_realtime")
}

// BenchmarkLiveLabelling is one live session's work on speech: the shipped
// conversation (25 s, six turns) through the pipeline — fbank, the VAD's
// turn cutting, one embedding per turn and open-set matching against two
// enrolled participants — unpaced. core_share is the share of one core a
// session at real-time pace takes (processing seconds per audio second).
func BenchmarkLiveLabelling(b *testing.B) {
	x, err := capture.ReadWAVFile16k(filepath.Join("..", "testdata", "speakers", "conversation.wav"), 0)
	if err != nil {
		b.Fatal(err)
	}
	m := modeltest.Model(b)
	sm := newSpeakerModel(m)
	a := &App{speakers: sm, labels: newLabelStats(), clock: capture.SystemClock{}}
	ex := sm.extractor()
	var cands []voiceprint.Candidate
	for _, f := range []string{"enrol-1688.wav", "enrol-1998.wav"} {
		y, err := capture.ReadWAVFile16k(filepath.Join("..", "testdata", "speakers", f), 0)
		if err != nil {
			b.Fatal(err)
		}
		e, _ := ex.Embed(nil, y)
		cands = append(cands, sm.sc.NewCandidate(f, e))
	}
	a.sess = newSessions(nil, capture.SystemClock{}, 0, sm, slog.New(slog.DiscardHandler))
	a.sess.live[vault.NewID()] = &liveSession{cands: cands, names: map[string]string{}, events: newHub()}
	p, err := newPipeline(nil, capture.SystemClock{}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	var emb []float32
	p.onTurn = func(t turn) { emb, _ = a.labelTurn(ex, emb, t) }
	var feats []float32
	b.ReportAllocs()
	for b.Loop() {
		p.seg.reset()
		for i := 0; i < len(x); i += pipelineBlock {
			feats = p.process(feats[:0], x[i:min(i+pipelineBlock, len(x))])
		}
	}
	audio := float64(b.N) * float64(len(x)) / capture.SampleRate
	b.ReportMetric(b.Elapsed().Seconds()/audio*100, "%core")
	b.ReportMetric(float64(a.labels.segments.Load())/float64(b.N), "turns/op")
}

// BenchmarkMatch1000 is matching one turn's voiceprint, in memory, against
// 1,000 enrolled voiceprints (a session that large): the cohort
// normalisation of the turn once, then a normalised score per candidate,
// as the daemon does it: candidates from Scorer.NewCandidate, scored
// through their int8 copies (the few nearest the best rescored in
// float32).
func BenchmarkMatch1000(b *testing.B) { benchMatch(b, true) }

// BenchmarkMatch1000Float32 is BenchmarkMatch1000 with candidates holding
// only their float32 voiceprints (Candidate literals).
func BenchmarkMatch1000Float32(b *testing.B) { benchMatch(b, false) }

func benchMatch(b *testing.B, compact bool) {
	m := modeltest.Model(b)
	sc := voiceprint.NewScorer(m)
	r := rand.New(rand.NewPCG(1, 2))
	unit := func() []float32 {
		v := make([]float32, m.EmbeddingDim())
		var n float64
		for i := range v {
			v[i] = float32(r.NormFloat64())
			n += float64(v[i]) * float64(v[i])
		}
		for i := range v {
			v[i] /= float32(math.Sqrt(n))
		}
		return v
	}
	cands := make([]voiceprint.Candidate, 1000)
	for i := range cands {
		e := unit()
		if compact {
			cands[i] = sc.NewCandidate(strconv.Itoa(i), e)
		} else {
			cands[i] = voiceprint.Candidate{ID: strconv.Itoa(i), Emb: e, Norm: sc.CohortNorm(e)}
		}
	}
	probe := unit()
	thr, err := sc.IdentifyThresholds(LabelFAR, len(cands))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		sc.IdentifyIn(probe, sc.CohortNorm(probe), false, cands, thr)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/match")
}
