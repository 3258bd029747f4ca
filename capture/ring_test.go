package capture_test

import (
	"context"
	"errors"
	"io"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/capture"
)

func seq(from, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(from + i)
	}
	return s
}

func TestRingDropsOldest(t *testing.T) {
	r := capture.NewRing(10)
	ctx := context.Background()
	assert.Zero(t, r.Write(seq(0, 6)))
	assert.Equal(t, 4, r.Write(seq(6, 8)), "Write of 8 into 6/10 drops 4")
	assert.Equal(t, 10, r.Len())
	assert.Equal(t, uint64(4), r.Dropped())

	dst := make([]float32, 4)
	n, err := r.Read(ctx, dst)
	assert.ErrorIs(t, err, capture.ErrOverflow, "first Read after a drop reports it")
	assert.Equal(t, seq(4, 4), dst[:n], "the oldest samples went")
	n, err = r.Read(ctx, dst)
	assert.NoError(t, err, "overflow is reported once")
	assert.Equal(t, seq(8, 4), dst[:n])

	// A write longer than the ring keeps its newest part.
	assert.Equal(t, 2+15, r.Write(seq(100, 25)))
	big := make([]float32, 100)
	n, err = r.Read(ctx, big)
	assert.ErrorIs(t, err, capture.ErrOverflow)
	assert.Equal(t, seq(115, 10), big[:n])
	assert.Equal(t, uint64(4+17), r.Dropped())
	assert.Equal(t, 10, r.Cap())
}

func TestRingCloseAndCancel(t *testing.T) {
	r := capture.NewRing(8)
	r.Write(seq(0, 3))
	r.CloseWrite(io.EOF)
	dst := make([]float32, 8)
	n, err := r.Read(context.Background(), dst)
	require.NoError(t, err)
	assert.Equal(t, seq(0, 3), dst[:n], "CloseWrite keeps what is buffered")
	_, err = r.Read(context.Background(), dst)
	assert.ErrorIs(t, err, io.EOF)
	assert.Equal(t, 2, r.Write(seq(0, 2)), "writes after CloseWrite are dropped")

	r = capture.NewRing(8)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := r.Read(ctx, dst)
		done <- err
	}()
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)

	go func() {
		_, err := r.Read(context.Background(), dst)
		done <- err
	}()
	r.Close()
	assert.ErrorIs(t, <-done, capture.ErrClosed, "Close wakes a waiting Read")
}

// TestRingStalledConsumerMemoryFlat writes 60 s of 16 kHz audio into a
// 2 s ring nobody reads: the heap stays flat, Write allocates nothing,
// and every sample beyond the ring's size is counted as dropped.
func TestRingStalledConsumerMemoryFlat(t *testing.T) {
	r := capture.NewRing(2 * capture.SampleRate)
	block := seq(0, 160)
	write := func(blocks int) {
		for range blocks {
			r.Write(block)
		}
	}
	write(200) // fill it
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	write(6000 - 200)
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	assert.Less(t, grew, int64(64<<10), "heap grew by %d bytes while the consumer stalled", grew)
	assert.Zero(t, testing.AllocsPerRun(100, func() { r.Write(block) }), "Write allocates")
	assert.Equal(t, r.Cap(), r.Len())
	total := uint64(6000+101) * 160
	assert.Equal(t, total-uint64(r.Cap()), r.Dropped(), "dropped = written − capacity")
}

// TestRingConcurrent runs a writer and a slow reader at once (for -race)
// and checks that what is read is in order and what is lost is counted.
func TestRingConcurrent(t *testing.T) {
	r := capture.NewRing(1000)
	const total = 200000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < total; i += 100 {
			r.Write(seq(i, 100))
		}
		r.CloseWrite(io.EOF)
	}()
	dst := make([]float32, 37)
	last := float32(-1)
	var got int
	for {
		n, err := r.Read(context.Background(), dst)
		for _, v := range dst[:n] {
			require.Greater(t, v, last, "samples out of order")
			last = v
		}
		got += n
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			require.ErrorIs(t, err, capture.ErrOverflow)
		}
	}
	wg.Wait()
	assert.Equal(t, uint64(total), uint64(got)+r.Dropped(), "read + dropped = written")
}
