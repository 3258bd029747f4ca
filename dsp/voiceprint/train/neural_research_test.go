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
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
	"github.com/voxward/voxward/dsp/voiceprint/tdnn"
	"github.com/voxward/voxward/internal/parallel"
)

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
		for _, v := range neuralTrainVariants(DefaultConfig().Rooms) { // the recipe's own (neural_branch.go)
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

// dumpRecord is one record of the dump's index.
type dumpRecord struct {
	name, channel string
	first, rows   int
}

// readDump reads a part of the neural dump: its records, its frames and
// the values a frame.
func readDump(t *testing.T, dir, part string) ([]dumpRecord, []float32, int) {
	idx, err := os.ReadFile(filepath.Join(dir, part+".tsv"))
	if err != nil {
		t.Fatalf("%v (the dump: go test -tags research -run TestExpNeuralDump ./dsp/voiceprint/train/)", err)
	}
	lines := strings.Split(strings.TrimSpace(string(idx)), "\n")
	var dim int
	if _, err := fmt.Sscanf(lines[0][strings.Index(lines[0], "(dim "):], "(dim %d)", &dim); err != nil {
		t.Fatalf("%s.tsv: %v", part, err)
	}
	var recs []dumpRecord
	for _, l := range lines[1:] {
		f := strings.Split(l, "\t")
		r := dumpRecord{name: f[0], channel: f[1]}
		r.first, _ = strconv.Atoi(f[2])
		r.rows, _ = strconv.Atoi(f[3])
		recs = append(recs, r)
	}
	raw, err := os.ReadFile(filepath.Join(dir, part+".f32"))
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, len(raw)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return recs, x, dim
}

// TestExpNeuralGo trains the neural extractor in Go (TrainNeural,
// DefaultNeuralConfig; VOXWARD_NEURAL_STEPS overrides the steps) on the
// dump's training records and writes, beside the dump, go-w64.bin (the
// network), go-w64.dev.f32 (every dev record's embedding) and
// go-w64.train.f32 (the clean training records'), the embeddings less the
// clean training embeddings' mean and of unit length, in the dump's
// record order. scripts/research/xvector.py import turns them into a
// checkpoint the research scripts score.
func TestExpNeuralGo(t *testing.T) {
	dir := researchCache(t, "neural")
	recs, x, dim := readDump(t, dir, "train")
	speakers := map[string]int{}
	var names []string
	for _, r := range recs {
		if _, ok := speakers[r.name]; !ok {
			speakers[r.name] = 0
			names = append(names, r.name)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
	for i, n := range names {
		speakers[n] = i
	}
	var train []NeuralRecord
	for _, r := range recs {
		train = append(train, NeuralRecord{Speaker: speakers[r.name], Frames: x[r.first*dim : (r.first+r.rows)*dim]})
	}
	c := DefaultNeuralConfig
	if s := os.Getenv("VOXWARD_NEURAL_STEPS"); s != "" {
		c.Steps, _ = strconv.Atoi(s)
	}
	start := time.Now()
	net, err := TrainNeural(context.Background(), train, dim, len(names), c, runtime.NumCPU(), func(step, steps int, loss, acc float64) {
		if step%100 == 0 || step == steps {
			el := time.Since(start)
			t.Logf("step %d/%d loss %.3f acc %.2f %.0f s (about %.0f s to go)", step, steps, loss, acc, el.Seconds(),
				el.Seconds()/float64(step)*float64(steps-step))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("trained in %.0f s on %d goroutines", time.Since(start).Seconds(), runtime.NumCPU())
	b, err := net.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go-w64.bin"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	neuralEmbed(t, dir, net, recs, x, dim)
}

// TestExpNeuralGoEmbed writes TestExpNeuralGo's embeddings again from
// its network (go-w64.bin), without training.
func TestExpNeuralGoEmbed(t *testing.T) {
	dir := researchCache(t, "neural")
	b, err := os.ReadFile(filepath.Join(dir, "go-w64.bin"))
	if err != nil {
		t.Fatalf("%v (train it: go test -tags research -run TestExpNeuralGo ./dsp/voiceprint/train/)", err)
	}
	net, err := tdnn.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	recs, x, dim := readDump(t, dir, "train")
	neuralEmbed(t, dir, net, recs, x, dim)
}

// neuralEmbed writes go-w64.dev.f32 and go-w64.train.f32 (see
// TestExpNeuralGo) from the network and the dump's training records.
func neuralEmbed(t *testing.T, dir string, net *tdnn.Net, recs []dumpRecord, x []float32, dim int) {
	start := time.Now()
	embed := func(recs []dumpRecord, x []float32) [][]float32 {
		out := make([][]float32, len(recs))
		err := parallel.For(context.Background(), len(recs), runtime.NumCPU(), func(_, i int) error {
			r := recs[i]
			frames := x[r.first*dim : (r.first+r.rows)*dim]
			if r.rows == 0 {
				frames = make([]float32, dim)
			}
			e, err := net.Embed(frames)
			out[i] = e
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	var clean []dumpRecord
	for _, r := range recs {
		if r.channel == "0" {
			clean = append(clean, r)
		}
	}
	trainEmb := embed(clean, x)
	centre := make([]float64, net.Dim)
	for _, e := range trainEmb {
		for i, v := range e {
			centre[i] += float64(v) / float64(len(trainEmb))
		}
	}
	devRecs, devX, _ := readDump(t, dir, "dev")
	devEmb := embed(devRecs, devX)
	for name, embs := range map[string][][]float32{"train": trainEmb, "dev": devEmb} {
		var buf bytes.Buffer
		for _, e := range embs {
			for i := range e {
				e[i] -= float32(centre[i])
			}
			normalizeRow(e)
			binary.Write(&buf, binary.LittleEndian, e)
		}
		if err := os.WriteFile(filepath.Join(dir, "go-w64."+name+".f32"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %s/go-w64.{dev,train}.f32: %d dev and %d training embeddings in %.1f s", dir, len(devEmb), len(trainEmb), time.Since(start).Seconds())
}
