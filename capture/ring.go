package capture

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Ring is a bounded FIFO of samples between a producer that must never
// block (a device callback, a stdin pump) and a consumer that may stall.
// When it is full, Write drops the oldest samples and counts them, so a
// stalled consumer costs a fixed amount of memory and, once it resumes,
// gets the most recent audio. It is safe for one writer and one reader
// at a time; Write allocates nothing.
type Ring struct {
	mu      sync.Mutex
	buf     []float32
	r, n    int    // read position and fill
	dropped uint64 // samples dropped since NewRing
	lost    bool   // samples dropped since the last Read
	werr    error  // set by CloseWrite: Read returns it once drained
	closed  bool   // set by Close: Read returns ErrClosed at once
	ready   chan struct{}
}

// NewRing returns a Ring holding at most capacity samples (at least 1).
func NewRing(capacity int) *Ring {
	return &Ring{buf: make([]float32, max(capacity, 1)), ready: make(chan struct{}, 1)}
}

// Write appends p, dropping the oldest samples when the Ring is full (and
// the oldest part of p itself when p is longer than the Ring). It returns
// how many samples it dropped. Writes after Close or CloseWrite are
// dropped and counted too.
func (r *Ring) Write(p []float32) (dropped int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.werr != nil {
		r.dropped += uint64(len(p))
		return len(p)
	}
	c := len(r.buf)
	if len(p) > c {
		dropped = len(p) - c
		p = p[dropped:]
	}
	if over := r.n + len(p) - c; over > 0 {
		r.r = (r.r + over) % c
		r.n -= over
		dropped += over
	}
	w := (r.r + r.n) % c
	k := copy(r.buf[w:], p)
	copy(r.buf, p[k:])
	r.n += len(p)
	if dropped > 0 {
		r.dropped += uint64(dropped)
		r.lost = true
	}
	select {
	case r.ready <- struct{}{}:
	default:
	}
	return dropped
}

// Read waits until the Ring holds at least one sample, then moves up to
// len(dst) of them into dst. It returns ErrOverflow along with the
// samples when audio was dropped since the previous Read; the error given
// to CloseWrite once the Ring is drained; ErrClosed after Close; and
// ctx.Err() when ctx ends first.
func (r *Ring) Read(ctx context.Context, dst []float32) (int, error) {
	return r.readUntil(ctx, dst, nil)
}

// errStalled is readUntil's answer when timeout fires first.
var errStalled = errors.New("capture: no audio arrived in time")

// readUntil is Read that also gives up with errStalled when timeout
// (which may be nil) fires before any sample arrives.
func (r *Ring) readUntil(ctx context.Context, dst []float32, timeout <-chan time.Time) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	for {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return 0, ErrClosed
		}
		if r.n > 0 {
			c := len(r.buf)
			k := min(len(dst), r.n)
			first := copy(dst[:k], r.buf[r.r:min(r.r+k, c)])
			copy(dst[first:k], r.buf)
			r.r = (r.r + k) % c
			r.n -= k
			var err error
			if r.lost {
				r.lost = false
				err = ErrOverflow
			}
			r.mu.Unlock()
			return k, err
		}
		if r.werr != nil {
			err := r.werr
			r.mu.Unlock()
			return 0, err
		}
		r.mu.Unlock()
		select {
		case <-r.ready:
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-timeout:
			return 0, errStalled
		}
	}
}

// CloseWrite marks the end of the stream: Read returns what the Ring
// holds, then err (io.EOF for a clean end).
func (r *Ring) CloseWrite(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.werr == nil {
		r.werr = err
	}
	r.wakeLocked()
}

// Close discards what the Ring holds; a waiting and every later Read
// returns ErrClosed.
func (r *Ring) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.n = 0
	r.wakeLocked()
}

func (r *Ring) wakeLocked() {
	select {
	case r.ready <- struct{}{}:
	default:
	}
}

// Len returns how many samples the Ring holds.
func (r *Ring) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// Cap returns the most samples the Ring holds.
func (r *Ring) Cap() int { return len(r.buf) }

// Dropped returns how many samples were dropped since NewRing.
func (r *Ring) Dropped() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}
