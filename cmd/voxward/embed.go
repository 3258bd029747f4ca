package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/dsp/voiceprint"
)

func init() {
	register(&command{name: "embed", summary: "compute the voiceprint of WAV files", run: runEmbed})
}

const embedHelp = `Computes the voiceprint of each WAV file (other rates than 16 kHz are
resampled; --channel picks one of
several channels) and prints one JSON object per line:
  {"file","model","dim","speech_seconds","bandwidth_hz","embedding":[...]}
"model" is the id of the voiceprint model, "speech_seconds" the speech the
voice activity detector kept, "bandwidth_hz" how far up the spectrum that
speech reaches (8000 for wide-band audio; about 4000 for audio made at
8 kHz, such as a telephone line or a phone recorder, whatever rate the
file has). JSON is the only output format; --json is
accepted for scripts that pass it.

Audio that is no voice sample makes no voiceprint: the command stops at
that file with exit status 1 and the reason — no_voice (almost no speech:
silence), not_speech (a level and spectrum too steady for speech: a tone,
hum or noise), too_short (under 1.25 s of speech) — and its figures.`

// loadModel returns the model in path, or the shipped model when path is
// empty.
func loadModel(path string) (*voiceprint.Model, error) {
	if path == "" {
		m, err := voiceprint.DefaultModel()
		if err != nil {
			return nil, fmt.Errorf("shipped voiceprint model: %w", err)
		}
		return m, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	m, err := voiceprint.ParseModel(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

type embedLine struct {
	File          string    `json:"file"`
	Model         string    `json:"model"`
	Dim           int       `json:"dim"`
	SpeechSeconds float64   `json:"speech_seconds"`
	BandwidthHz   float64   `json:"bandwidth_hz"`
	Embedding     []float32 `json:"embedding"`
}

func runEmbed(ctx context.Context, sio *stdio, args []string) error {
	fs := newFlags(sio, "embed", "embed [--json] IN.wav...", embedHelp)
	fs.Bool("json", true, "print JSON lines (the only format)")
	modelPath := fs.String("model", "", "voiceprint model file (default: the shipped model)")
	channel := fs.Int("channel", 0, "channel to read from multi-channel files")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("no input files; usage: voxward embed [--json] IN.wav...")
	}
	m, err := loadModel(*modelPath)
	if err != nil {
		return err
	}
	ex, err := voiceprint.NewExtractor(m)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(sio.out)
	gate := voiceprint.DefaultSpeechGate()
	var emb []float32
	for _, f := range pos {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		x, err := capture.ReadWAVFile16k(f, *channel)
		if err != nil {
			return err
		}
		var a voiceprint.Analysis
		emb, a = ex.Embed(emb, x)
		if reason := gate.Explain(a); reason != "" {
			return fmt.Errorf("%s: no voiceprint: %s", f, reason)
		}
		if err := enc.Encode(embedLine{File: f, Model: m.Config.ID, Dim: len(emb), SpeechSeconds: a.SpeechSeconds, BandwidthHz: a.BandwidthHz, Embedding: emb}); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	return nil
}
