package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"
)

// Gate errors.
var (
	// ErrGateClosed: the Gate was shut down (Close, or Run returned); it
	// grants no more leases and gives no audio.
	ErrGateClosed = errors.New("capture: gate shut down")
	// ErrLeaseEnded: the lease was released or has expired.
	ErrLeaseEnded = errors.New("capture: consent lease ended")
)

// MaxCloseDelay is the longest a Gate's device stays open after its last
// lease ends: a released lease closes the device at once; an expiring
// one is noticed by Run within this time (and by Read at once).
const MaxCloseDelay = time.Second

// GateConfig configures a Gate; nil means the defaults.
type GateConfig struct {
	// Clock decides when leases expire; default SystemClock.
	Clock Clock
	// Logger receives open and close events; default discards. Lease
	// reasons are logged: put ids in them, never names.
	Logger *slog.Logger
}

// Gate is the consent gate, and the only way to audio: it opens its
// Device when the first consent lease is acquired and closes it when the
// last one is released or expires, so that without consent the
// microphone is not merely ignored but closed.
//
// Gate is itself a Source: Read gives audio while a lease is held and
// ErrNoConsent otherwise. Run must be running for expiring leases to
// close the device while nobody reads; Read checks expiry on its own,
// so no audio is handed out after a lease expires either way.
type Gate struct {
	dev   *Device
	clock Clock
	log   *slog.Logger
	meter Meter

	// readMu serialises Reads, so the device sees one reader at a time.
	readMu sync.Mutex

	mu      sync.Mutex
	leases  map[uint64]*Lease
	nextID  uint64
	src     Source        // the open device, nil while closed
	gen     uint64        // incremented at every open and close
	opened  chan struct{} // closed while the device is open
	wake    chan struct{} // tells Run the leases changed
	shut    bool
	shutCh  chan struct{} // closed by Close
	reason  string        // why the device is open or closed
	since   time.Time
	opens   uint64
	closes  uint64
	overrun uint64
	lost    Stats // loss counters of the sources closed so far
}

// NewGate returns a closed Gate over dev.
func NewGate(dev *Device, cfg *GateConfig) *Gate {
	g := &Gate{
		dev:    dev,
		clock:  SystemClock{},
		log:    slog.New(slog.DiscardHandler),
		leases: map[uint64]*Lease{},
		opened: make(chan struct{}),
		wake:   make(chan struct{}, 1),
		shutCh: make(chan struct{}),
		reason: "no consent lease held",
	}
	if cfg != nil && cfg.Clock != nil {
		g.clock = cfg.Clock
	}
	if cfg != nil && cfg.Logger != nil {
		g.log = cfg.Logger
	}
	g.log = g.log.With("component", "capture.gate")
	g.since = g.clock.Now()
	return g
}

// Lease is one consent lease on a Gate. While any lease is held the
// device is open.
type Lease struct {
	g       *Gate
	id      uint64
	reason  string
	expires time.Time // zero: no expiry
}

// Acquire takes a consent lease, opening the device if this is the first.
// ttl > 0 makes the lease expire after ttl unless extended; ttl ≤ 0 means
// it lasts until Release. reason says why (a session id, "cli record"),
// for logs and status. It returns ErrGateClosed after Close, or the
// device's open error (and then holds no lease).
func (g *Gate) Acquire(ctx context.Context, reason string, ttl time.Duration) (*Lease, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.shut {
		return nil, ErrGateClosed
	}
	now := g.clock.Now()
	g.expireLocked(now)
	if g.src == nil {
		if err := g.openLocked(ctx, reason); err != nil {
			return nil, err
		}
	}
	g.nextID++
	l := &Lease{g: g, id: g.nextID, reason: reason}
	if ttl > 0 {
		l.expires = now.Add(ttl)
	}
	g.leases[l.id] = l
	g.reason = fmt.Sprintf("%d consent lease(s) held", len(g.leases))
	g.wakeRun()
	return l, nil
}

// openLocked opens the device.
func (g *Gate) openLocked(ctx context.Context, reason string) error {
	src, err := g.dev.open(ctx)
	if err != nil {
		g.reason = "open failed: " + err.Error()
		g.log.Warn("device open failed", "device", g.dev.info.Spec, "err", err)
		return fmt.Errorf("capture: open %s: %w", g.dev.info.Spec, err)
	}
	g.src = src
	g.gen++
	g.opens++
	close(g.opened)
	g.since = g.clock.Now()
	g.log.Info("device opened", "device", g.dev.info.Spec, "lease_reason", reason)
	return nil
}

// Release ends the lease; the last one closes the device before Release
// returns. Releasing twice, or after expiry, does nothing.
func (l *Lease) Release() {
	g := l.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.leases[l.id]; !ok {
		return
	}
	delete(g.leases, l.id)
	if len(g.leases) == 0 {
		g.closeLocked("last consent lease released")
	} else {
		g.reason = fmt.Sprintf("%d consent lease(s) held", len(g.leases))
	}
	g.wakeRun()
}

// Extend makes the lease expire ttl from now (ttl ≤ 0: never). It returns
// ErrLeaseEnded when the lease was already released or had expired.
func (l *Lease) Extend(ttl time.Duration) error {
	g := l.g
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.clock.Now()
	g.expireLocked(now)
	if _, ok := g.leases[l.id]; !ok {
		return ErrLeaseEnded
	}
	l.expires = time.Time{}
	if ttl > 0 {
		l.expires = now.Add(ttl)
	}
	g.wakeRun()
	return nil
}

// Expires returns when the lease expires (zero: it does not).
func (l *Lease) Expires() time.Time {
	l.g.mu.Lock()
	defer l.g.mu.Unlock()
	return l.expires
}

// Reason returns the reason given to Acquire.
func (l *Lease) Reason() string { return l.reason }

// Read reads from the device while a lease is held (see Source). Without
// one it returns ErrNoConsent at once. When the last lease ends during
// the Read, the samples are discarded and it returns ErrNoConsent. When
// the device is lost (ErrDeviceLost) the Gate closes it, and the next Read
// opens it again if a lease is still held (returning ErrDeviceLost while
// that fails), so a microphone plugged back in is picked up. Samples the
// device delivers as NaN or ±Inf (garbage: a device whose format is
// misread) read as 0 and are counted in Status().Levels.NonFinite.
// Concurrent Reads take turns.
func (g *Gate) Read(ctx context.Context, dst []float32) (int, error) {
	g.readMu.Lock()
	defer g.readMu.Unlock()
	g.mu.Lock()
	if g.shut {
		g.mu.Unlock()
		return 0, ErrGateClosed
	}
	g.expireLocked(g.clock.Now())
	if g.src == nil && len(g.leases) > 0 {
		// The device was lost while leases are held: try it again.
		if err := g.openLocked(ctx, "reopen after device loss"); err != nil {
			g.mu.Unlock()
			return 0, fmt.Errorf("%w: %v", ErrDeviceLost, err)
		}
	}
	src, gen := g.src, g.gen
	g.mu.Unlock()
	if src == nil {
		return 0, ErrNoConsent
	}
	n, err := src.Read(ctx, dst)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.expireLocked(g.clock.Now())
	if g.gen != gen {
		clear(dst[:n])
		if g.shut {
			return 0, ErrGateClosed
		}
		return 0, ErrNoConsent
	}
	if g.meter.update(dst[:n]) > 0 {
		zeroNonFinite(dst[:n])
	}
	if errors.Is(err, ErrDeviceLost) {
		// Close it now; the next Read opens it again while leases last.
		g.closeLocked("device lost: " + err.Error())
		return n, err
	}
	if errors.Is(err, ErrOverflow) {
		g.overrun++
	}
	return n, err
}

// zeroNonFinite replaces NaN and ±Inf in x with silence.
func zeroNonFinite(x []float32) {
	for i, v := range x {
		if a := math.Abs(float64(v)); math.IsNaN(a) || math.IsInf(a, 1) {
			x[i] = 0
		}
	}
}

// WaitOpen blocks until the device is open (a lease is held), ctx ends
// or the Gate is shut down.
func (g *Gate) WaitOpen(ctx context.Context) error {
	g.mu.Lock()
	ch, shut := g.opened, g.shut
	g.mu.Unlock()
	if shut {
		return ErrGateClosed
	}
	select {
	case <-ch:
		return nil
	case <-g.shutCh:
		return ErrGateClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Info describes the gated device: as it was opened while it is open
// (the actual device name and native rate), as parsed otherwise.
func (g *Gate) Info() Info {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.src != nil {
		info := g.src.Info()
		info.Spec = g.dev.info.Spec
		return info
	}
	return g.dev.info
}

// GateStatus is what /v1/status shows of the capture side.
type GateStatus struct {
	// Open says whether the device is open.
	Open bool `json:"open"`
	// Reason says why it is open or closed.
	Reason string `json:"reason"`
	// Leases is how many consent leases are held.
	Leases int `json:"leases"`
	// Since is when the device last opened or closed.
	Since time.Time `json:"since"`
	// Opens and Closes count device opens and closes.
	Opens  uint64 `json:"opens"`
	Closes uint64 `json:"closes"`
	// Overflows counts reads that reported lost audio (ErrOverflow).
	Overflows uint64 `json:"overflows"`
	// Device are the device's loss counters, over every time it was open.
	Device Stats `json:"device"`
	// Levels are the levels of the audio read through the Gate; NonFinite
	// counts the NaN and ±Inf samples it replaced with 0.
	Levels Levels `json:"levels"`
}

// Status returns the Gate's state.
func (g *Gate) Status() GateStatus {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.expireLocked(g.clock.Now())
	dev := g.lost
	if st, ok := g.src.(statser); ok {
		cur := st.Stats()
		dev.Overflows += cur.Overflows
		dev.DroppedSamples += cur.DroppedSamples
	}
	return GateStatus{
		Open: g.src != nil, Reason: g.reason, Leases: len(g.leases), Since: g.since,
		Opens: g.opens, Closes: g.closes, Overflows: g.overrun, Device: dev, Levels: g.meter.Levels(),
	}
}

// Run closes the device within MaxCloseDelay of the last lease expiring,
// until ctx ends; it then shuts the Gate down (Close) and returns nil.
func (g *Gate) Run(ctx context.Context) error {
	defer g.Close()
	for {
		g.mu.Lock()
		if g.shut {
			g.mu.Unlock()
			return nil
		}
		now := g.clock.Now()
		g.expireLocked(now)
		var next time.Time
		for _, l := range g.leases {
			if !l.expires.IsZero() && (next.IsZero() || l.expires.Before(next)) {
				next = l.expires
			}
		}
		g.mu.Unlock()
		var timer <-chan time.Time
		if !next.IsZero() {
			// Wake at the expiry, and at least every MaxCloseDelay in case
			// the clock jumps.
			timer = g.clock.After(min(next.Sub(now), MaxCloseDelay))
			if g.clock.Now().Sub(now) > time.Millisecond {
				// The clock moved while the timer was set, so it may be
				// set too late: look again.
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-g.wake:
		case <-timer:
		}
	}
}

// Close shuts the Gate down: every lease ends, the device closes, and
// Acquire and Read return ErrGateClosed from then on.
func (g *Gate) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.shut {
		return nil
	}
	g.shut = true
	close(g.shutCh)
	clear(g.leases)
	g.closeLocked("gate shut down")
	g.wakeRun()
	return nil
}

// expireLocked drops the leases that expired by now, closing the device
// when none is left.
func (g *Gate) expireLocked(now time.Time) {
	expired := 0
	for id, l := range g.leases {
		if !l.expires.IsZero() && !now.Before(l.expires) {
			delete(g.leases, id)
			expired++
		}
	}
	if expired > 0 && len(g.leases) == 0 {
		g.closeLocked("consent lease expired")
	}
}

func (g *Gate) closeLocked(reason string) {
	g.reason = reason
	if g.src == nil {
		return
	}
	if st, ok := g.src.(statser); ok {
		cur := st.Stats()
		g.lost.Overflows += cur.Overflows
		g.lost.DroppedSamples += cur.DroppedSamples
	}
	if err := g.src.Close(); err != nil {
		g.log.Warn("device close failed", "device", g.dev.info.Spec, "err", err)
	}
	g.src = nil
	g.gen++
	g.closes++
	g.opened = make(chan struct{})
	g.since = g.clock.Now()
	g.log.Info("device closed", "device", g.dev.info.Spec, "reason", reason)
}

func (g *Gate) wakeRun() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}
