package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/dsp/voiceprint"
)

func init() {
	register(&command{name: "score", summary: "compare the voices of two WAV files", run: runScore})
}

const scoreHelp = `Compares the voices of two WAV files (resampled to 16 kHz when needed)
and prints one JSON object:
  {"score","threshold","same_speaker"}
"score" is the s-normalised similarity of the two voiceprints (adaptive
symmetric normalisation against the model's cohort of training speakers),
"threshold" the score the model's calibration sets for the false-accept
rate --far, and "same_speaker" whether the score reaches it.

A file that is no voice sample (no_voice, not_speech, too_short; see
"voxward embed --help") gets no score: exit status 1 and the reason, so
two recordings of silence or of a tone are never "the same speaker".`

type scoreOut struct {
	Score       float64 `json:"score"`
	Threshold   float64 `json:"threshold"`
	SameSpeaker bool    `json:"same_speaker"`
}

func runScore(ctx context.Context, sio *stdio, args []string) error {
	fs := newFlags(sio, "score", "score A.wav B.wav", scoreHelp)
	modelPath := fs.String("model", "", "voiceprint model file (default: the shipped model)")
	far := fs.Float64("far", 0.01, "false-accept rate the threshold is calibrated for")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("want two WAV files; usage: voxward score A.wav B.wav")
	}
	if !(*far > 0 && *far < 1) {
		return usagef("--far must be in (0, 1)")
	}
	m, err := loadModel(*modelPath)
	if err != nil {
		return err
	}
	ex, err := voiceprint.NewExtractor(m)
	if err != nil {
		return err
	}
	sc := voiceprint.NewScorer(m)
	var embs [2][]float32
	for i, f := range pos {
		x, err := capture.ReadWAVFile16k(f, 0)
		if err != nil {
			return err
		}
		var a voiceprint.Analysis
		embs[i], a = ex.Embed(nil, x)
		if reason := voiceprint.DefaultSpeechGate().Explain(a); reason != "" {
			return fmt.Errorf("%s: no voiceprint: %s", f, reason)
		}
	}
	thr, err := sc.Threshold(*far)
	if err != nil {
		return err
	}
	s := sc.Score(embs[0], embs[1])
	if err := json.NewEncoder(sio.out).Encode(scoreOut{Score: s, Threshold: thr, SameSpeaker: s >= thr}); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
