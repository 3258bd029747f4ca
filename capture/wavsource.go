package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// wavDevice is "wav:PATH": the file's channels averaged to mono and
// resampled to 16 kHz, paced in real time (a stand-in microphone) unless
// fast=1, from the start again at the end if loop=1.
func wavDevice(path string, p *params, opts *Options) (*Device, error) {
	loop, err := p.bool("loop")
	if err != nil {
		return nil, err
	}
	fast, err := p.bool("fast")
	if err != nil {
		return nil, err
	}
	info := Info{Kind: "wav", Device: path, RealTime: !fast}
	clock := opts.clock()
	return NewDevice(info, func(context.Context) (Source, error) {
		f, err := OpenWAVFile(path)
		if err != nil {
			return nil, err // *PathError names the file
		}
		w, err := NewWAVReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		wf := w.Format()
		if loop && wf.Frames == 0 {
			f.Close()
			return nil, fmt.Errorf("%s: %w: cannot loop a file without samples", path, ErrFormat)
		}
		si := info
		si.NativeRate, si.NativeChannels = wf.SampleRate, wf.Channels
		ch := wf.Channels
		inter := make([]float32, nativeBlock*ch)
		produce := func(_ context.Context, dst []float32) (int, error) {
			for {
				n, err := w.Read(inter[:min(len(dst), nativeBlock)*ch])
				if errors.Is(err, io.EOF) && loop {
					if err := w.Rewind(); err != nil {
						return 0, fmt.Errorf("capture: %s: %w", path, err)
					}
					continue
				}
				if err != nil && !errors.Is(err, io.EOF) {
					return 0, fmt.Errorf("capture: %s: %w", path, err)
				}
				frames := n / ch
				for i := range frames {
					var s float32
					for c := range ch {
						s += inter[i*ch+c]
					}
					dst[i] = s / float32(ch)
				}
				if frames == 0 && err == nil {
					continue
				}
				return frames, err
			}
		}
		var pace *pacer
		if !fast {
			pace = newPacer(clock)
		}
		s, err := newStream(si, produce, f.Close, pace)
		if err != nil {
			f.Close()
			return nil, err
		}
		return s, nil
	}), nil
}
