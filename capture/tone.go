package capture

import (
	"context"
	"math"
)

// toneDevice is "tone": a sine at freq Hz and level dBFS (peak), generated
// at 16 kHz and paced in real time unless fast=1.
func toneDevice(p *params, opts *Options) (*Device, error) {
	freq, err := p.float("freq", 440, 1, SampleRate/2-1)
	if err != nil {
		return nil, err
	}
	level, err := p.float("level", -20, -120, 0)
	if err != nil {
		return nil, err
	}
	fast, err := p.bool("fast")
	if err != nil {
		return nil, err
	}
	info := Info{Kind: "tone", NativeRate: SampleRate, NativeChannels: 1, RealTime: !fast}
	clock := opts.clock()
	return NewDevice(info, func(context.Context) (Source, error) {
		amp := fullScale * math.Pow(10, level/20)
		step := 2 * math.Pi * freq / SampleRate
		var phase float64
		gen := func(_ context.Context, dst []float32) (int, error) {
			for i := range dst {
				dst[i] = float32(amp * math.Sin(phase))
				phase += step
				if phase >= 2*math.Pi {
					phase -= 2 * math.Pi
				}
			}
			return len(dst), nil
		}
		var pace *pacer
		if !fast {
			pace = newPacer(clock)
		}
		return newStream(info, gen, nil, pace)
	}), nil
}
