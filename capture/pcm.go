package capture

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// pcmDevice is "pcm:-": signed 16-bit little-endian samples on
// Options.Stdin, 16 kHz mono unless rate= and channels= say otherwise
// (channels are averaged to mono, other rates resampled).
//
// A single pump goroutine reads stdin from the first open until stdin
// ends. While the Device is closed (no consent) it reads and discards, so
// the writer (arecord) never blocks and no audio from before the Gate
// opened is ever delivered.
func pcmDevice(p *params, opts *Options) (*Device, error) {
	rate, err := p.int("rate", SampleRate, 4000, 192000)
	if err != nil {
		return nil, err
	}
	channels, err := p.int("channels", 1, 1, 32)
	if err != nil {
		return nil, err
	}
	if opts == nil || opts.Stdin == nil {
		return nil, fmt.Errorf("%w %q: no stdin to read (Options.Stdin is nil)", ErrBadSpec, p.spec)
	}
	info := Info{Kind: "pcm", Device: "stdin", NativeRate: rate, NativeChannels: channels, RealTime: true}
	pump := &pcmPump{in: opts.Stdin, info: info, ringLen: ringLen(opts, rate)}
	return NewDevice(info, pump.open), nil
}

func ringLen(opts *Options, rate int) int {
	sec := 2.0
	if opts != nil && opts.RingSeconds > 0 {
		sec = opts.RingSeconds
	}
	return max(int(sec*float64(rate)), nativeBlock)
}

// pcmPump owns stdin for the life of the process.
type pcmPump struct {
	in      io.Reader
	info    Info
	ringLen int

	mu      sync.Mutex
	started bool
	ring    *Ring // the open stream's ring, nil while closed
	end     error // why stdin ended, once it has
}

func (pp *pcmPump) open(context.Context) (Source, error) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	ring := NewRing(pp.ringLen)
	if pp.end != nil {
		ring.CloseWrite(pp.end)
	}
	pp.ring = ring
	if !pp.started {
		pp.started = true
		go pp.run()
	}
	stop := func() error {
		pp.mu.Lock()
		defer pp.mu.Unlock()
		if pp.ring == ring {
			pp.ring = nil
		}
		ring.Close()
		return nil
	}
	s, err := newStream(pp.info, ring.Read, stop, nil)
	if err != nil {
		return nil, err
	}
	s.stats = func() Stats { return Stats{DroppedSamples: ring.Dropped()} }
	return s, nil
}

// run reads stdin until it ends, converting frames to mono float32 and
// handing them to the open ring, or dropping them while none is open.
func (pp *pcmPump) run() {
	ch := pp.info.NativeChannels
	frame := 2 * ch
	raw := make([]byte, nativeBlock*frame)
	mono := make([]float32, nativeBlock)
	have := 0
	for {
		// Audio belongs to the stream that was open when the read began:
		// what arrives while the Device is closed is dropped, even if the
		// Gate opens while the read waits (so the first block after an
		// open may be dropped too, never one from before it).
		pp.mu.Lock()
		ring := pp.ring
		pp.mu.Unlock()
		k, err := pp.in.Read(raw[have:])
		have += k
		frames := have / frame
		for f := range frames {
			var sum int32
			for c := range ch {
				sum += int32(int16(binary.LittleEndian.Uint16(raw[f*frame+2*c:])))
			}
			mono[f] = float32(sum) / float32(ch)
		}
		rest := copy(raw, raw[frames*frame:have])
		have = rest
		if frames > 0 && ring != nil {
			ring.Write(mono[:frames]) // a Ring closed meanwhile drops it
		}
		if err != nil {
			pp.mu.Lock()
			if errors.Is(err, io.EOF) {
				err = io.EOF
			} else {
				err = fmt.Errorf("capture: read stdin: %w", err)
			}
			pp.end = err
			if pp.ring != nil {
				pp.ring.CloseWrite(err)
			}
			pp.mu.Unlock()
			return
		}
	}
}
