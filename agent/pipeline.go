package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/dsp"
)

// Pipeline figures.
const (
	// pipelineBlock is how many samples one Read asks for: 100 ms.
	pipelineBlock = capture.SampleRate / 10
	// pipelineMelBins is the fbank width the voiceprint front end uses.
	pipelineMelBins = 80
	// retryDelay is the pause after a source error before reading again.
	retryDelay = time.Second
)

// pipeline reads live audio through the consent gate while it is open and
// turns it into log mel filterbank features. Until voiceprints arrive the
// features are dropped at once: no audio and nothing derived from it is
// stored, and unknown voices are never kept (PRIVACY.md rules 1, 5, 12).
// The level meter is updated by the gate on every read.
type pipeline struct {
	gate  *capture.Gate
	clock Clock
	wake  <-chan struct{}
	log   *slog.Logger
	fb    *dsp.Fbank
	seg   *segmenter
	// onTurn labels a turn the segmenter cut (App.labelTurn); nil drops
	// turns. Called on the pipeline goroutine.
	onTurn func(turn)

	samples, frames atomic.Uint64
	fbankNanos      atomic.Int64
	readErrors      atomic.Uint64

	mu    sync.Mutex
	state string
	taps  []*tap // enrolments recording from the live source
}

// tap collects the next want samples the pipeline reads, for an
// enrolment from the live source; done closes when it has them.
type tap struct {
	want int
	buf  []float32
	done chan struct{}
}

// addTap asks for the next n samples read.
func (p *pipeline) addTap(n int) *tap {
	t := &tap{want: n, buf: make([]float32, 0, n), done: make(chan struct{})}
	p.mu.Lock()
	p.taps = append(p.taps, t)
	p.mu.Unlock()
	return t
}

// removeTap forgets t (done or abandoned) and returns what it collected.
func (p *pipeline) removeTap(t *tap) []float32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.taps = slices.DeleteFunc(p.taps, func(x *tap) bool { return x == t })
	return t.buf
}

// feedTaps copies samples to the taps that still want them.
func (p *pipeline) feedTaps(samples []float32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.taps {
		if n := t.want - len(t.buf); n > 0 {
			t.buf = append(t.buf, samples[:min(n, len(samples))]...)
			if len(t.buf) == t.want {
				close(t.done)
			}
		}
	}
}

// PipelineStatus is what status shows of the live pipeline.
type PipelineStatus struct {
	// State is "idle" (gate closed), "running", "source ended" (a finite
	// source reached its end; the next session reopens it) or "error: ...".
	State string `json:"state"`
	// Samples and Frames count the audio read and the fbank frames computed
	// since start; FbankSeconds is the processing time they took.
	Samples      uint64  `json:"samples"`
	Frames       uint64  `json:"frames"`
	FbankSeconds float64 `json:"fbank_seconds"`
	// Features names the features computed.
	Features string `json:"features"`
	// Speakers says what is done with the features.
	Speakers string `json:"speakers"`
}

func newPipeline(g *capture.Gate, c Clock, wake <-chan struct{}, log *slog.Logger) (*pipeline, error) {
	o := dsp.DefaultFbankOptions()
	o.Mel.NumBins = pipelineMelBins
	fb, err := dsp.NewFbank(o)
	if err != nil {
		return nil, fmt.Errorf("agent: fbank: %w", err)
	}
	seg, err := newSegmenter()
	if err != nil {
		return nil, err
	}
	return &pipeline{gate: g, clock: c, wake: wake, log: log, fb: fb, seg: seg, state: "idle"}, nil
}

func (p *pipeline) setState(s string) {
	p.mu.Lock()
	p.state = s
	p.mu.Unlock()
}

func (p *pipeline) status() PipelineStatus {
	p.mu.Lock()
	st := p.state
	p.mu.Unlock()
	return PipelineStatus{
		State:        st,
		Samples:      p.samples.Load(),
		Frames:       p.frames.Load(),
		FbankSeconds: time.Duration(p.fbankNanos.Load()).Seconds(),
		Features:     fmt.Sprintf("fbank %d mel bins, 25 ms frames every 10 ms", pipelineMelBins),
		Speakers: "turns cut by the VAD become voiceprints, matched in memory against the session's enrolled participants " +
			"(GET /v1/sessions/{id}/events); voices of others are labelled unknown and their embeddings dropped at once; nothing is stored",
	}
}

// Run reads through the gate whenever it is open, until ctx ends or the
// gate shuts down; it then returns nil.
func (p *pipeline) Run(ctx context.Context) error {
	buf := make([]float32, pipelineBlock)
	var feats []float32
	defer clear(buf)
	for {
		if err := p.gate.WaitOpen(ctx); err != nil {
			return nil // ctx ended or the gate shut down
		}
		// The session change that opened the gate is handled by opening.
		select {
		case <-p.wake:
		default:
		}
		p.setState("running")
		err := p.readOpen(ctx, buf, &feats)
		feats = p.fb.Flush(feats[:0])
		clear(feats)
		clear(buf)
		p.seg.reset() // a turn cut short by the gate is dropped, not labelled
		switch {
		case ctx.Err() != nil, errors.Is(err, capture.ErrGateClosed):
			p.setState("idle")
			return nil
		case errors.Is(err, capture.ErrNoConsent):
			p.setState("idle")
		case errors.Is(err, io.EOF):
			p.setState("source ended")
			p.log.Info("source ended; waiting for the next session")
			if !p.sleep(ctx, nil) {
				return nil
			}
		default:
			p.readErrors.Add(1)
			p.setState("error: " + err.Error())
			p.log.Warn("source read failed; retrying", "err", err)
			if !p.sleep(ctx, p.clock.After(retryDelay)) {
				return nil
			}
		}
	}
}

// readOpen reads and processes until a Read fails with anything but
// ErrOverflow, and returns that error.
func (p *pipeline) readOpen(ctx context.Context, buf []float32, feats *[]float32) error {
	for {
		n, err := p.gate.Read(ctx, buf)
		if n > 0 {
			*feats = p.process((*feats)[:0], buf[:n])
		}
		if err != nil && !errors.Is(err, capture.ErrOverflow) {
			return err
		}
	}
}

// process turns samples into fbank frames (appended to feats, which it
// returns; they are counted and dropped, for the level and health
// figures), and feeds the samples to the turn segmenter, whose finished
// turns are labelled.
func (p *pipeline) process(feats, samples []float32) []float32 {
	t0 := time.Now()
	feats = p.fb.Accept(feats, samples)
	p.fbankNanos.Add(int64(time.Since(t0)))
	p.samples.Add(uint64(len(samples)))
	p.frames.Add(uint64(len(feats) / p.fb.Dim()))
	clear(feats)
	p.feedTaps(samples)
	if p.onTurn != nil {
		p.seg.feed(samples, p.clock.Now(), p.onTurn)
	}
	return feats
}

// sleep waits for a session change, the timer (nil: none) or the end of
// ctx; it reports whether ctx is still live.
func (p *pipeline) sleep(ctx context.Context, timer <-chan time.Time) bool {
	select {
	case <-ctx.Done():
		return false
	case <-p.wake:
	case <-timer:
	}
	return true
}
