package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/dsp"
	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/internal/audiotest"
)

func init() {
	register(&command{
		name:    "bench",
		summary: "measure the DSP front end's speed on one core (JSON)",
		run:     runBench,
	})
}

const benchHelp = `Measures how fast this machine computes features, on one core, process
start excluded, and prints one JSON object:

  {"fbank80_xrt", "mfcc13_xrt", "voiceprint_xrt", "stages": {NAME: {"ns_per_frame"}}, ...}

A real-time factor (xrt) is seconds of audio processed per second of work:
fbank80_xrt = 10000 means ten thousand seconds of 16 kHz audio per second.
Each figure is the median of --rounds runs over --seconds of audio (a
seeded synthetic voiced signal, which the VAD keeps as speech, or --wav). Stages time each step of the pipeline on
a block of eight frames. voiceprint_xrt is the whole path from samples to a
unit voiceprint (VAD, features, GMM statistics, the neural branch's
network, projection) with the
built-in model, on up to 60 s of the audio per run. "kernels" says whether the AVX2 assembly or the portable Go
kernels ran (build with -tags purego for the latter).

To compare with torchaudio in the same run: make bench-peer.`

// benchResult is the JSON that voxward bench prints.
type benchResult struct {
	Fbank80XRT    float64              `json:"fbank80_xrt"`
	MFCC13XRT     float64              `json:"mfcc13_xrt"`
	VoiceprintXRT *float64             `json:"voiceprint_xrt"`
	Stages        map[string]stageTime `json:"stages"`
	Seconds       float64              `json:"seconds"`
	Rounds        int                  `json:"rounds"`
	Kernels       string               `json:"kernels"`
	GoMaxProcs    int                  `json:"gomaxprocs"`
}

type stageTime struct {
	NsPerFrame float64 `json:"ns_per_frame"`
}

func runBench(ctx context.Context, sio *stdio, args []string) error {
	fs := newFlags(sio, "bench", "bench [--seconds N] [--rounds R] [--wav FILE]", benchHelp)
	seconds := fs.Float64("seconds", 600, "seconds of audio per run")
	rounds := fs.Int("rounds", 5, "runs per figure; the median is reported")
	wav := fs.String("wav", "", "16 kHz WAV to use (first channel) instead of the synthetic signal; repeated to --seconds")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("bench takes no arguments")
	}
	if *seconds < 1 || *rounds < 1 {
		return usagef("--seconds must be ≥ 1 and --rounds ≥ 1")
	}
	n := int(*seconds * 16000)
	x := make([]float32, n)
	if *wav != "" {
		s, f, err := capture.ReadWAVFile(*wav, 0)
		if err != nil {
			return err
		}
		if f.SampleRate != 16000 || len(s) == 0 {
			return fmt.Errorf("%s: need 16 kHz audio, got %v", *wav, f)
		}
		for i := 0; i < n; i += len(s) {
			copy(x[i:], s)
		}
	} else {
		x = audiotest.Voice(n, 1)
	}

	// One core: a single goroutine, and no other Go thread to hide work on.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))

	fo := dsp.DefaultFbankOptions()
	fo.Mel.NumBins = 80
	fb, err := dsp.NewFbank(fo)
	if err != nil {
		return err
	}
	mf, err := dsp.NewMFCC(dsp.DefaultMFCCOptions())
	if err != nil {
		return err
	}
	res := benchResult{Seconds: *seconds, Rounds: *rounds, Kernels: dsp.Kernels(), GoMaxProcs: 1, Stages: map[string]stageTime{}}
	xrt := func(compute func(dst, x []float32) []float32) (float64, error) {
		out := compute(nil, x) // warm up and size the output
		times := make([]float64, *rounds)
		for i := range times {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			start := time.Now()
			out = compute(out, x)
			times[i] = time.Since(start).Seconds()
		}
		return *seconds / median(times), nil
	}
	if res.Fbank80XRT, err = xrt(fb.Compute); err != nil {
		return err
	}
	if res.MFCC13XRT, err = xrt(mf.Compute); err != nil {
		return err
	}
	if res.VoiceprintXRT, err = benchVoiceprint(ctx, x, *rounds); err != nil {
		return err
	}
	for prefix, stages := range map[string][]dsp.Stage{"fbank80": fb.Stages(x), "mfcc13": mf.Stages(x)} {
		for _, st := range stages {
			const runs = 2000
			times := make([]float64, *rounds)
			for i := range times {
				start := time.Now()
				for range runs {
					st.Run()
				}
				times[i] = float64(time.Since(start).Nanoseconds()) / float64(runs*st.Frames)
			}
			res.Stages[prefix+"/"+st.Name] = stageTime{NsPerFrame: median(times)}
		}
	}
	enc := json.NewEncoder(sio.out)
	return enc.Encode(res)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// benchVoiceprint times samples → voiceprint with the built-in model on
// the first min(60 s, len) of x and returns the real-time factor.
func benchVoiceprint(ctx context.Context, x []float32, rounds int) (*float64, error) {
	m, err := voiceprint.DefaultModel()
	if err != nil {
		return nil, fmt.Errorf("voiceprint model: %w", err)
	}
	ex, err := voiceprint.NewExtractor(m)
	if err != nil {
		return nil, fmt.Errorf("voiceprint extractor: %w", err)
	}
	seg := x[:min(len(x), 60*16000)]
	vp, _ := ex.Embed(nil, seg) // warm up
	times := make([]float64, rounds)
	for i := range times {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		start := time.Now()
		vp, _ = ex.Embed(vp, seg)
		times[i] = time.Since(start).Seconds()
	}
	xrt := float64(len(seg)) / 16000 / median(times)
	return &xrt, nil
}
