package capture_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/internal/clocktest"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// fakeDevice is a microphone that records when it is opened and closed.
// Its Read returns a ramp and, when block is set, waits until closed, as
// a real device read waits for audio.
type fakeDevice struct {
	clock   capture.Clock
	block   bool
	openErr error

	mu     sync.Mutex
	events []event
	src    *fakeSource
	closed chan struct{} // receives one value per close
}

type event struct {
	open bool
	at   time.Time
}

func newFakeDevice(clock capture.Clock) *fakeDevice {
	return &fakeDevice{clock: clock, closed: make(chan struct{}, 16)}
}

func (d *fakeDevice) device() *capture.Device {
	return capture.NewDevice(capture.Info{Kind: "fake", Spec: "fake", NativeRate: 16000, SampleRate: 16000, Channels: 1},
		func(context.Context) (capture.Source, error) {
			d.mu.Lock()
			defer d.mu.Unlock()
			if d.openErr != nil {
				return nil, d.openErr
			}
			d.events = append(d.events, event{open: true, at: d.clock.Now()})
			d.src = &fakeSource{d: d, done: make(chan struct{}), reading: make(chan struct{}, 1)}
			return d.src, nil
		})
}

func (d *fakeDevice) opens() (opens, closes int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range d.events {
		if e.open {
			opens++
		} else {
			closes++
		}
	}
	return opens, closes
}

func (d *fakeDevice) isOpen() bool {
	o, c := d.opens()
	return o > c
}

// waitClosed waits for the next close; the real-time bound only keeps a
// broken gate from hanging the test.
func (d *fakeDevice) waitClosed(t *testing.T) time.Time {
	t.Helper()
	select {
	case <-d.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("device not closed")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.events[len(d.events)-1].at
}

type fakeSource struct {
	d       *fakeDevice
	next    float32
	once    sync.Once
	done    chan struct{}
	reading chan struct{}
}

func (s *fakeSource) Read(ctx context.Context, dst []float32) (int, error) {
	select {
	case s.reading <- struct{}{}:
	default:
	}
	if s.d.block {
		select {
		case <-s.done:
			return 0, capture.ErrClosed
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	for i := range dst {
		dst[i] = s.next
		s.next++
	}
	return len(dst), nil
}

func (s *fakeSource) Info() capture.Info { return capture.Info{Kind: "fake"} }

func (s *fakeSource) Close() error {
	s.once.Do(func() {
		close(s.done)
		s.d.mu.Lock()
		s.d.events = append(s.d.events, event{open: false, at: s.d.clock.Now()})
		s.d.mu.Unlock()
		select {
		case s.d.closed <- struct{}{}:
		default:
		}
	})
	return nil
}

func TestGateNeverOpensWithoutLease(t *testing.T) {
	clock := clocktest.New(t0)
	fd := newFakeDevice(clock)
	g := capture.NewGate(fd.device(), &capture.GateConfig{Clock: clock})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- g.Run(ctx) }()

	buf := make([]float32, 160)
	for range 3 {
		n, err := g.Read(ctx, buf)
		assert.ErrorIs(t, err, capture.ErrNoConsent)
		assert.Zero(t, n)
		clock.Advance(time.Hour)
	}
	st := g.Status()
	assert.False(t, st.Open, "Status().Open without a lease")
	assert.Equal(t, 0, st.Leases)
	opens, _ := fd.opens()
	assert.Zero(t, opens, "device opened without a consent lease")

	wctx, wcancel := context.WithCancel(ctx)
	wcancel()
	assert.ErrorIs(t, g.WaitOpen(wctx), context.Canceled)
	waiting := make(chan error)
	go func() { waiting <- g.WaitOpen(context.Background()) }()
	cancel()
	assert.ErrorIs(t, <-waiting, capture.ErrGateClosed, "a WaitOpen in progress ends when the gate shuts down")
	require.NoError(t, <-done)
	_, err := g.Acquire(context.Background(), "late", 0)
	assert.ErrorIs(t, err, capture.ErrGateClosed, "Acquire after Run returned")
}

func TestGateOpensWithLeaseAndClosesOnRelease(t *testing.T) {
	clock := clocktest.New(t0)
	fd := newFakeDevice(clock)
	g := capture.NewGate(fd.device(), &capture.GateConfig{Clock: clock})
	ctx := context.Background()

	a, err := g.Acquire(ctx, "session A", 0)
	require.NoError(t, err)
	require.NoError(t, g.WaitOpen(ctx))
	b, err := g.Acquire(ctx, "session B", 0)
	require.NoError(t, err)
	opens, closes := fd.opens()
	assert.Equal(t, 1, opens, "opens after two leases")
	assert.Zero(t, closes)

	buf := make([]float32, 4)
	n, err := g.Read(ctx, buf)
	require.NoError(t, err)
	assert.Equal(t, []float32{0, 1, 2, 3}, buf[:n])

	a.Release()
	assert.True(t, fd.isOpen(), "device closed while lease B is held")
	a.Release() // twice: nothing
	assert.True(t, fd.isOpen())

	b.Release()
	at := fd.waitClosed(t)
	assert.Equal(t, t0, at, "closed at %v, want at release", at)
	n, err = g.Read(ctx, buf)
	assert.ErrorIs(t, err, capture.ErrNoConsent)
	assert.Zero(t, n)
	assert.ErrorIs(t, b.Extend(time.Minute), capture.ErrLeaseEnded)

	// A new lease opens it again.
	c, err := g.Acquire(ctx, "session C", 0)
	require.NoError(t, err)
	st := g.Status()
	assert.True(t, st.Open)
	assert.Equal(t, uint64(2), st.Opens)
	assert.Equal(t, uint64(1), st.Closes)
	c.Release()
	fd.waitClosed(t)
}

// TestGateClosesWhenLeaseExpires: with Run going and nobody reading, an
// expiring lease closes the device within a second of its expiry, and
// not before it; Extend moves the expiry.
func TestGateClosesWhenLeaseExpires(t *testing.T) {
	clock := clocktest.New(t0)
	fd := newFakeDevice(clock)
	g := capture.NewGate(fd.device(), &capture.GateConfig{Clock: clock})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- g.Run(ctx) }()

	l, err := g.Acquire(ctx, "session", 5*time.Second)
	require.NoError(t, err)
	for range 49 {
		clock.Advance(100 * time.Millisecond)
	}
	require.NoError(t, l.Extend(3*time.Second), "Extend at 4.9 s of a 5 s lease")
	expiry := t0.Add(7900 * time.Millisecond)
	assert.Equal(t, expiry, l.Expires())
	// Time passes, as it would, up to the expiry and no further: the
	// device must close by itself.
	for clock.Now().Before(expiry) {
		clock.Advance(100 * time.Millisecond)
	}
	at := fd.waitClosed(t)
	late := at.Sub(expiry)
	assert.True(t, late >= 0 && late <= capture.MaxCloseDelay, "closed %v after expiry, want within [0, %v]", late, capture.MaxCloseDelay)
	opens, closes := fd.opens()
	assert.Equal(t, 1, opens)
	assert.Equal(t, 1, closes)
	st := g.Status()
	assert.False(t, st.Open)
	assert.Equal(t, "consent lease expired", st.Reason)
	cancel()
	require.NoError(t, <-done)
}

// TestGateReadChecksExpiry: even without Run, no audio is handed out
// after the lease expired, and the device closes on that Read.
func TestGateReadChecksExpiry(t *testing.T) {
	clock := clocktest.New(t0)
	fd := newFakeDevice(clock)
	g := capture.NewGate(fd.device(), &capture.GateConfig{Clock: clock})
	ctx := context.Background()
	_, err := g.Acquire(ctx, "session", time.Second)
	require.NoError(t, err)
	buf := make([]float32, 8)
	_, err = g.Read(ctx, buf)
	require.NoError(t, err)
	clock.Advance(time.Second)
	n, err := g.Read(ctx, buf)
	assert.ErrorIs(t, err, capture.ErrNoConsent)
	assert.Zero(t, n)
	assert.False(t, fd.isOpen(), "device open after its lease expired")
}

// TestGateRevocationInterruptsRead: a Read waiting on the device returns
// ErrNoConsent as soon as the last lease is released, and the samples it
// may have had are not handed out.
func TestGateRevocationInterruptsRead(t *testing.T) {
	clock := clocktest.New(t0)
	fd := newFakeDevice(clock)
	fd.block = true
	g := capture.NewGate(fd.device(), &capture.GateConfig{Clock: clock})
	ctx := context.Background()
	l, err := g.Acquire(ctx, "session", 0)
	require.NoError(t, err)
	fd.mu.Lock()
	reading := fd.src.reading
	fd.mu.Unlock()

	type result struct {
		n   int
		err error
	}
	res := make(chan result)
	go func() {
		n, err := g.Read(ctx, make([]float32, 160))
		res <- result{n, err}
	}()
	<-reading
	l.Release()
	r := <-res
	assert.ErrorIs(t, r.err, capture.ErrNoConsent)
	assert.Zero(t, r.n)
	fd.waitClosed(t)
}

func TestGateOpenFailure(t *testing.T) {
	clock := clocktest.New(t0)
	fd := newFakeDevice(clock)
	fd.openErr = errors.New("unplugged")
	g := capture.NewGate(fd.device(), &capture.GateConfig{Clock: clock})
	_, err := g.Acquire(context.Background(), "session", 0)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unplugged")
	st := g.Status()
	assert.False(t, st.Open)
	assert.Zero(t, st.Leases, "a failed open holds no lease")
	assert.Contains(t, st.Reason, "open failed")
}

// TestGateConcurrent hammers Acquire, Release, Read and Status from
// several goroutines (run it under -race) and checks the device is never
// open without a lease at the end.
func TestGateConcurrent(t *testing.T) {
	clock := clocktest.New(t0)
	fd := newFakeDevice(clock)
	g := capture.NewGate(fd.device(), &capture.GateConfig{Clock: clock})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = g.Run(ctx) }()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]float32, 64)
			for i := range 200 {
				l, err := g.Acquire(ctx, "worker", time.Duration(w+i%3)*time.Second)
				if !assert.NoError(t, err) {
					return
				}
				_, err = g.Read(ctx, buf)
				if err != nil && !errors.Is(err, capture.ErrNoConsent) {
					t.Errorf("Read: %v", err)
				}
				_ = g.Status()
				if i%7 == 0 {
					clock.Advance(time.Second)
				}
				l.Release()
			}
		}()
	}
	wg.Wait()
	st := g.Status()
	assert.False(t, st.Open, "open with no lease held")
	assert.False(t, fd.isOpen())
	opens, closes := fd.opens()
	assert.Equal(t, opens, closes)
	assert.Equal(t, uint64(opens), st.Opens)
}

// lostSource is a device that reports ErrDeviceLost on its first Read.
type lostSource struct{ fakeSource }

func (s *lostSource) Read(context.Context, []float32) (int, error) {
	return 0, capture.ErrDeviceLost
}

// TestGateReopensLostDevice: a lost device is closed at once and opened
// again on the next Read while the lease lasts; while reopening fails,
// Read says ErrDeviceLost and the lease stays.
func TestGateReopensLostDevice(t *testing.T) {
	clock := clocktest.New(t0)
	fd := newFakeDevice(clock)
	var opens int
	var failOpen error
	dev := capture.NewDevice(capture.Info{Kind: "fake", Spec: "fake"}, func(ctx context.Context) (capture.Source, error) {
		if failOpen != nil {
			return nil, failOpen
		}
		opens++
		fd.mu.Lock()
		fd.events = append(fd.events, event{open: true, at: clock.Now()})
		fd.mu.Unlock()
		if opens == 1 {
			return &lostSource{fakeSource{d: fd, done: make(chan struct{}), reading: make(chan struct{}, 1)}}, nil
		}
		return &fakeSource{d: fd, done: make(chan struct{}), reading: make(chan struct{}, 1)}, nil
	})
	g := capture.NewGate(dev, &capture.GateConfig{Clock: clock})
	ctx := context.Background()
	l, err := g.Acquire(ctx, "session", 0)
	require.NoError(t, err)
	defer l.Release()

	buf := make([]float32, 4)
	_, err = g.Read(ctx, buf)
	assert.ErrorIs(t, err, capture.ErrDeviceLost)
	fd.waitClosed(t)
	st := g.Status()
	assert.False(t, st.Open)
	assert.Equal(t, 1, st.Leases, "the lease outlives the device")
	assert.Contains(t, st.Reason, "device lost")

	failOpen = errors.New("still unplugged")
	_, err = g.Read(ctx, buf)
	assert.ErrorIs(t, err, capture.ErrDeviceLost)
	assert.Contains(t, err.Error(), "still unplugged")
	assert.False(t, fd.isOpen())

	failOpen = nil
	n, err := g.Read(ctx, buf)
	require.NoError(t, err, "plugged back in")
	assert.Equal(t, 4, n)
	assert.True(t, fd.isOpen())
	assert.Equal(t, 2, opens)
}

// TestDeviceCannotBeOpenedDirectly pins the API that makes the Gate the
// only way to audio: a Device exposes its description and nothing that
// opens it.
func TestDeviceCannotBeOpenedDirectly(t *testing.T) {
	typ := reflect.TypeOf(&capture.Device{})
	var names []string
	for i := range typ.NumMethod() {
		names = append(names, typ.Method(i).Name)
	}
	assert.Equal(t, []string{"Info"}, names, "exported methods of *capture.Device")
}

// garbageSource is a device that delivers NaN, +Inf and -Inf among its
// samples, as a misconfigured one does.
type garbageSource struct{ fakeSource }

func (s *garbageSource) Read(_ context.Context, dst []float32) (int, error) {
	for i := range dst {
		dst[i] = garbage(i)
	}
	return len(dst), nil
}

func garbage(i int) float32 {
	switch i % 4 {
	case 1:
		return float32(math.NaN())
	case 2:
		return float32(math.Inf(1))
	case 3:
		return float32(math.Inf(-1))
	}
	return 1000
}

// TestGateNonFiniteSamples: NaN and ±Inf from a device reach no reader
// (they read as silence) and leave the status encodable.
func TestGateNonFiniteSamples(t *testing.T) {
	clock := clocktest.New(t0)
	fd := newFakeDevice(clock)
	dev := capture.NewDevice(capture.Info{Kind: "fake", Spec: "fake"}, func(context.Context) (capture.Source, error) {
		return &garbageSource{fakeSource{d: fd, done: make(chan struct{}), reading: make(chan struct{}, 1)}}, nil
	})
	g := capture.NewGate(dev, &capture.GateConfig{Clock: clock})
	defer g.Close()
	l, err := g.Acquire(context.Background(), "test", 0)
	require.NoError(t, err)
	defer l.Release()

	buf := make([]float32, 16)
	n, err := g.Read(context.Background(), buf)
	require.NoError(t, err)
	require.Equal(t, 16, n)
	want := make([]float32, len(buf))
	for i := range want {
		if v := garbage(i); !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) {
			want[i] = v
		}
	}
	assert.Equal(t, want, buf, "non-finite samples read as silence")
	st := g.Status()
	assert.Equal(t, uint64(12), st.Levels.NonFinite, "Status().Levels.NonFinite")
	assert.InDelta(t, 20*math.Log10(1000.0/32768), st.Levels.PeakDBFS, 1e-9, "peak of the finite samples")
	_, err = json.Marshal(st)
	assert.NoError(t, err, "the status must encode as JSON")
}
