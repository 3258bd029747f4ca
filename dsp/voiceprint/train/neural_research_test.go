//go:build research

package train

// Feature dump for the small neural extractor tried in
// scripts/research/xvector.py (dsp/voiceprint/model/README.md, "A small
// neural extractor: measured, not kept"): the shipped front end's speech
// frames (20 MFCC + Δ + ΔΔ, before the utterance's normalisation) of
//
//   - every training utterance in nine channels: clean, telephone, noise
//     (5, 10 or 20 dB by speaker), noise at 15 dB, 8 kHz and the four
//     simulated rooms of the speaker's own that train the model's NAP
//     (the model's own training variants, so the two learn from the same
//     audio);
//   - every dev recording in the channels voxward eval tests (eval.Augment)
//     and its first 3 s ("short", as eval --test-seconds 3 cuts it).
//
// Written to $VOXWARD_RESEARCH_CACHE/neural (default /tmp/vxexp/neural):
// train.f32 and dev.f32 hold the frames as little-endian float32, row
// after row; train.tsv and dev.tsv give one record a line: speaker (or
// path), channel, first row, rows.
//
//	go test -tags research -run TestExpNeuralDump -v -timeout 1h ./dsp/voiceprint/train/

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
	"github.com/voxward/voxward/internal/parallel"
)

// neuralTrainVariants are the training channels of the dump.
var neuralTrainVariants = []int{vClean, vTel, vNoise, vNoise15, vNarrow, vRoom, vRoom2, vRoom3, vRoom4}

// neuralDevChannels are the dev channels of the dump; "short" is the
// first 3 s of the recording as recorded.
var neuralDevChannels = []string{"none", "telephone", "noise10", "narrowband", "reverb", "hall", "short"}

type neuralRecord struct {
	name, channel string
	frames        []float32
}

func TestExpNeuralDump(t *testing.T) {
	m, err := voiceprint.DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	fd := m.Branches[0].Config.FeatureDim()
	dir := researchCache(t, "neural")
	utts, err := ListUtterances(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	_, devFiles := devLists(t)

	jobs := runtime.NumCPU()
	fes := make([]*voiceprint.SpeechFeatures, jobs)
	for w := range fes {
		if fes[w], err = voiceprint.NewSpeechFeatures(m.Branches[0].Config); err != nil {
			t.Fatal(err)
		}
	}
	frames := func(w int, x []float32) []float32 {
		f, _ := fes[w].ComputeRaw(x)
		return slices.Clone(f)
	}
	ctx := context.Background()

	train := make([][]neuralRecord, len(utts))
	err = parallel.For(ctx, len(utts), jobs, func(w, i int) error {
		x, err := readWAV(utts[i].Path)
		if err != nil {
			return err
		}
		for _, v := range neuralTrainVariants {
			train[i] = append(train[i], neuralRecord{fmt.Sprint(utts[i].Speaker), fmt.Sprint(v), frames(w, variantAudio(x, utts[i].Speaker, v))})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	dev := make([][]neuralRecord, len(devFiles))
	err = parallel.For(ctx, len(devFiles), jobs, func(w, i int) error {
		x, err := readWAV(filepath.Join(dataDir, devFiles[i]))
		if err != nil {
			return err
		}
		for _, ch := range neuralDevChannels {
			a := x[:min(len(x), 3*16000)]
			if ch != "short" {
				a = eval.Augment(x, ch, devFiles[i])
			}
			dev[i] = append(dev[i], neuralRecord{devFiles[i], ch, frames(w, a)})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []struct {
		name string
		recs [][]neuralRecord
	}{{"train", train}, {"dev", dev}} {
		recs := slices.Concat(part.recs...)
		rows, err := writeNeural(filepath.Join(dir, part.name), fd, recs)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d records, %d frames of %d values", part.name, len(recs), rows, fd)
	}
}

// writeNeural writes recs to base.f32 and base.tsv and returns the rows.
func writeNeural(base string, dim int, recs []neuralRecord) (int, error) {
	var frames, index bytes.Buffer
	fmt.Fprintf(&index, "# name\tchannel\tfirst_row\trows\t(dim %d)\n", dim)
	row := 0
	for _, r := range recs {
		n := len(r.frames) / dim
		fmt.Fprintf(&index, "%s\t%s\t%d\t%d\n", r.name, r.channel, row, n)
		binary.Write(&frames, binary.LittleEndian, r.frames) // a bytes.Buffer does not fail
		row += n
	}
	if err := os.WriteFile(base+".f32", frames.Bytes(), 0o644); err != nil {
		return 0, err
	}
	return row, os.WriteFile(base+".tsv", index.Bytes(), 0o644)
}
