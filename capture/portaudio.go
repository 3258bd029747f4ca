//go:build portaudio

package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gordonklaus/portaudio"
)

// HavePortAudio reports whether this binary was built with the portaudio
// tag, and so can open microphones.
const HavePortAudio = true

// paMu serialises PortAudio's process-wide Initialize and Terminate and
// the device lookups between them.
var paMu sync.Mutex

// ListDevices returns the capture devices PortAudio knows (those with at
// least one input channel).
func ListDevices() ([]DeviceInfo, error) {
	paMu.Lock()
	defer paMu.Unlock()
	if err := portaudio.Initialize(); err != nil {
		return nil, fmt.Errorf("capture: portaudio: %w", err)
	}
	defer func() { _ = portaudio.Terminate() }()
	return listLocked()
}

func listLocked() ([]DeviceInfo, error) {
	devs, err := portaudio.Devices()
	if err != nil {
		return nil, fmt.Errorf("capture: portaudio devices: %w", err)
	}
	def, _ := portaudio.DefaultInputDevice()
	var out []DeviceInfo
	for _, d := range devs {
		if d.MaxInputChannels < 1 {
			continue
		}
		host := ""
		if d.HostApi != nil {
			host = d.HostApi.Name
		}
		out = append(out, DeviceInfo{
			Index: d.Index, Name: d.Name, HostAPI: host, Channels: d.MaxInputChannels,
			DefaultRate: d.DefaultSampleRate, Default: def != nil && def.Index == d.Index,
		})
	}
	return out, nil
}

// findLocked picks the input device for name: "" is the default input,
// an integer is an index, anything else a name — an exact match, else
// the only device whose name contains it (case-insensitive).
func findLocked(name string) (*portaudio.DeviceInfo, error) {
	if name == "" {
		d, err := portaudio.DefaultInputDevice()
		if err != nil || d == nil {
			return nil, fmt.Errorf("%w: no default input device (%v)", ErrNoDevice, err)
		}
		return d, nil
	}
	devs, err := portaudio.Devices()
	if err != nil {
		return nil, fmt.Errorf("capture: portaudio devices: %w", err)
	}
	if i, err := strconv.Atoi(name); err == nil {
		if i < 0 || i >= len(devs) || devs[i].MaxInputChannels < 1 {
			return nil, fmt.Errorf("%w: no input device with index %d (see voxward devices)", ErrNoDevice, i)
		}
		return devs[i], nil
	}
	var matches []*portaudio.DeviceInfo
	for _, d := range devs {
		if d.MaxInputChannels < 1 {
			continue
		}
		if d.Name == name {
			return d, nil
		}
		if strings.Contains(strings.ToLower(d.Name), strings.ToLower(name)) {
			matches = append(matches, d)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return nil, fmt.Errorf("%w: no input device named %q (see voxward devices)", ErrNoDevice, name)
	}
	names := make([]string, len(matches))
	for i, d := range matches {
		names[i] = fmt.Sprintf("%d %q", d.Index, d.Name)
	}
	return nil, fmt.Errorf("%w: %q matches %d devices: %s; give an index", ErrNoDevice, name, len(matches), strings.Join(names, ", "))
}

// portaudioDevice is "portaudio[:DEVICE][?rate=HZ&channels=N]": a
// microphone opened at its default rate (or rate=), in mono (or with
// channels= channels averaged), resampled to 16 kHz.
func portaudioDevice(name string, p *params, opts *Options) (*Device, error) {
	rate, err := p.int("rate", 0, 4000, 384000)
	if err != nil {
		return nil, err
	}
	channels, err := p.int("channels", 1, 1, 64)
	if err != nil {
		return nil, err
	}
	devName := name
	if devName == "" {
		devName = "default"
	}
	info := Info{Kind: "portaudio", Device: devName, NativeRate: rate, NativeChannels: channels, RealTime: true}
	log := slog.New(slog.DiscardHandler)
	if opts != nil && opts.Logger != nil {
		log = opts.Logger
	}
	log = log.With("component", "capture.portaudio")
	ringSec := 2.0
	if opts != nil && opts.RingSeconds > 0 {
		ringSec = opts.RingSeconds
	}
	clock, stall := opts.clock(), opts.stallTimeout()
	return NewDevice(info, func(context.Context) (Source, error) {
		return openPortAudio(name, info, ringSec, clock, stall, log)
	}), nil
}

func openPortAudio(name string, info Info, ringSec float64, clock Clock, stall time.Duration, log *slog.Logger) (Source, error) {
	paMu.Lock()
	defer paMu.Unlock()
	if err := portaudio.Initialize(); err != nil {
		return nil, fmt.Errorf("portaudio: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = portaudio.Terminate()
		}
	}()
	dev, err := findLocked(name)
	if err != nil {
		return nil, err
	}
	if info.NativeRate == 0 {
		info.NativeRate = int(math.Round(dev.DefaultSampleRate))
	}
	ch := min(info.NativeChannels, dev.MaxInputChannels)
	info.NativeChannels = ch
	info.Device = dev.Name

	ring := NewRing(max(int(ringSec*float64(info.NativeRate)), nativeBlock))
	var overflows atomic.Uint64
	var mono []float32
	callback := func(in []float32, _ portaudio.StreamCallbackTimeInfo, flags portaudio.StreamCallbackFlags) {
		if flags&portaudio.InputOverflow != 0 {
			overflows.Add(1)
			ring.markLost()
		}
		frames := len(in) / ch
		if cap(mono) < frames {
			mono = make([]float32, frames)
		}
		m := mono[:frames]
		for i := range m {
			var s float32
			for c := range ch {
				s += in[i*ch+c]
			}
			m[i] = s * (fullScale / float32(ch))
		}
		ring.Write(m)
	}
	sp := portaudio.HighLatencyParameters(dev, nil)
	sp.Input.Channels = ch
	sp.SampleRate = float64(info.NativeRate)
	sp.FramesPerBuffer = info.NativeRate / 100 // 10 ms
	st, err := portaudio.OpenStream(sp, callback)
	if err != nil {
		return nil, fmt.Errorf("portaudio: open %q at %d Hz, %d channel(s): %w", dev.Name, info.NativeRate, ch, err)
	}
	if err := st.Start(); err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("portaudio: start %q: %w", dev.Name, err)
	}
	stop := func() error {
		ring.Close()
		paMu.Lock()
		defer paMu.Unlock()
		err := st.Abort()
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		if terr := portaudio.Terminate(); err == nil {
			err = terr
		}
		if n := overflows.Load(); n > 0 {
			log.Warn("input overflows while open", "device", dev.Name, "overflows", n)
		}
		if err != nil {
			return fmt.Errorf("capture: portaudio close %q: %w", dev.Name, err)
		}
		return nil
	}
	// A microphone that delivers nothing for stall is gone (unplugged, or
	// its driver wedged): say so rather than wait forever.
	produce := func(ctx context.Context, dst []float32) (int, error) {
		n, err := ring.readUntil(ctx, dst, clock.After(stall))
		if errors.Is(err, errStalled) {
			return n, fmt.Errorf("%w: %q delivered no audio for %v", ErrDeviceLost, dev.Name, stall)
		}
		return n, err
	}
	s, err := newStream(info, produce, stop, nil)
	if err != nil {
		_ = st.Abort()
		_ = st.Close()
		return nil, err
	}
	s.stats = func() Stats {
		return Stats{Overflows: overflows.Load(), DroppedSamples: ring.Dropped()}
	}
	ok = true
	log.Info("device opened", "device", dev.Name, "rate", info.NativeRate, "channels", ch)
	return s, nil
}

func (o *Options) stallTimeout() time.Duration {
	if o == nil || o.StallTimeout <= 0 {
		return 2 * time.Second
	}
	return o.StallTimeout
}

// markLost makes the next Read report ErrOverflow: the device lost audio
// before it reached the Ring.
func (r *Ring) markLost() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lost = true
}
