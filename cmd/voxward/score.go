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
  {"score","threshold","band_limited","same_speaker"}
"score" is the s-normalised similarity of the two voiceprints (adaptive
symmetric normalisation against the model's cohort of training speakers),
"threshold" the score the model's calibration sets for the false-accept
rate --far, and "same_speaker" whether the score reaches it.
"band_limited" is true when the speech of both files reaches no higher
than 4,500 Hz (an 8 kHz recording, a narrowband line: "bandwidth_hz" in
"voxward embed"); such pairs of different voices score higher, and the
model calibrates a higher threshold for them, which "threshold" then is.

A file that is no voice sample (no_voice, not_speech, too_short; see
"voxward embed --help") gets no score: exit status 1 and the reason, so
two recordings of silence or of a tone are never "the same speaker".`

type scoreOut struct {
	Score       float64 `json:"score"`
	Threshold   float64 `json:"threshold"`
	BandLimited bool    `json:"band_limited"`
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
	bandLimited := true
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
		bandLimited = bandLimited && a.BandLimited()
	}
	thrs, err := sc.Thresholds(*far)
	if err != nil {
		return err
	}
	thr := thrs.For(bandLimited, bandLimited)
	s := sc.Score(embs[0], embs[1])
	if err := json.NewEncoder(sio.out).Encode(scoreOut{Score: s, Threshold: thr, BandLimited: bandLimited, SameSpeaker: s >= thr}); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
