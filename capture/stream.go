package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/voxward/voxward/dsp"
)

// producer yields mono samples at the native rate: up to len(dst), at
// least one unless it returns an error. io.EOF ends the stream;
// ErrOverflow comes with valid samples.
type producer func(ctx context.Context, dst []float32) (int, error)

// stream is the Source behind every device of this package: it pulls
// native-rate mono samples from a producer, resamples them to 16 kHz
// (dropping the filter's delay, so output time matches input time),
// paces them like a live microphone unless told not to, and stops on
// Close.
type stream struct {
	info    Info
	produce producer
	stop    func() error // releases the device; called once by Close
	stats   func() Stats // loss counters; nil: none

	rs      *dsp.Resampler // nil when the native rate is 16 kHz
	skip    int            // resampler delay still to drop
	nat     []float32      // native-rate scratch
	pend    []float32      // converted samples not yet returned
	pendOff int
	eof     bool
	pace    *pacer // nil: as fast as possible

	closeOnce sync.Once
	closed    chan struct{}
	closeErr  error
}

// nativeBlock is how many native samples a stream asks its producer for.
const nativeBlock = 1024

func newStream(info Info, produce producer, stop func() error, pace *pacer) (*stream, error) {
	info.SampleRate, info.Channels = SampleRate, 1
	info.RealTime = info.RealTime || pace != nil
	s := &stream{info: info, produce: produce, stop: stop, pace: pace, closed: make(chan struct{})}
	s.nat = make([]float32, nativeBlock)
	if info.NativeRate != SampleRate {
		rs, err := dsp.NewResampler(info.NativeRate, SampleRate)
		if err != nil {
			return nil, fmt.Errorf("capture: %s: %w", info.Device, err)
		}
		s.rs, s.skip = rs, rs.Delay()
		s.pend = make([]float32, 0, max(rs.MaxOut(nativeBlock), rs.Delay()+1))
	} else {
		s.pend = make([]float32, 0, nativeBlock)
	}
	return s, nil
}

// Info describes the source.
func (s *stream) Info() Info { return s.info }

// Stats returns the source's loss counters.
func (s *stream) Stats() Stats {
	if s.stats == nil {
		return Stats{}
	}
	return s.stats()
}

// Read fills dst with 16 kHz samples; see Source.
func (s *stream) Read(ctx context.Context, dst []float32) (int, error) {
	n := 0
	var overflow bool
	var err error
	for n < len(dst) {
		select {
		case <-s.closed:
			return n, ErrClosed
		default:
		}
		if s.pendOff < len(s.pend) {
			c := copy(dst[n:], s.pend[s.pendOff:])
			n += c
			s.pendOff += c
			continue
		}
		if s.eof {
			err = io.EOF
			break
		}
		var k int
		k, err = s.produce(ctx, s.nat)
		switch {
		case err == nil:
		case errors.Is(err, ErrOverflow):
			overflow, err = true, nil
		case errors.Is(err, io.EOF):
			s.eof, err = true, nil
		default:
			select {
			case <-s.closed:
				err = ErrClosed
			default:
			}
			return n, err
		}
		s.convert(s.nat[:k])
	}
	if s.pace != nil && n > 0 {
		if werr := s.pace.wait(ctx, s.closed, n); werr != nil {
			return n, werr
		}
	}
	if err == nil && overflow {
		err = ErrOverflow
	}
	return n, err
}

// convert resamples x into pend (which Read has emptied); at the end of
// the stream it flushes the resampler's tail.
func (s *stream) convert(x []float32) {
	s.pend, s.pendOff = s.pend[:0], 0
	if s.rs == nil {
		s.pend = append(s.pend, x...)
		return
	}
	s.pend = s.rs.Process(s.pend, x)
	if s.eof {
		s.pend = s.rs.Flush(s.pend)
	}
	if s.skip > 0 {
		d := min(s.skip, len(s.pend))
		s.pendOff, s.skip = d, s.skip-d
	}
}

// Close stops the stream and releases the device; a waiting Read returns
// ErrClosed. Calling it again returns the first call's result.
func (s *stream) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		if s.stop != nil {
			s.closeErr = s.stop()
		}
	})
	return s.closeErr
}

// pacer holds samples back until the time they would have been
// recorded: sample k of the stream is due at start + k/SampleRate.
type pacer struct {
	clock Clock
	start time.Time
	done  int64 // samples released so far
}

func newPacer(c Clock) *pacer { return &pacer{clock: c, start: c.Now()} }

// wait blocks until the next n samples are due, ctx ends (ctx.Err()) or
// closed is closed (ErrClosed).
func (p *pacer) wait(ctx context.Context, closed <-chan struct{}, n int) error {
	p.done += int64(n)
	due := p.start.Add(time.Duration(p.done * int64(time.Second) / SampleRate))
	d := due.Sub(p.clock.Now())
	if d <= 0 {
		return nil
	}
	select {
	case <-p.clock.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-closed:
		return ErrClosed
	}
}
