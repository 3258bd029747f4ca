package train

import (
	"fmt"
	"path/filepath"
	"sort"

	"github.com/voxward/voxward/capture"
)

// Utterance is one training utterance: its speaker's index (in order of
// first appearance among the sorted files) and its WAV file.
type Utterance struct {
	Speaker int
	Path    string
}

// ListUtterances lists the training utterances of a speech data folder:
// every WAV file under DATA/librispeech/train-clean-100/SPEAKER/, sorted by
// path, so that the list (and every seed derived from it) repeats.

func ListUtterances(data string) ([]Utterance, error) {
	dir := filepath.Join(data, "librispeech", "train-clean-100")
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.wav"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no WAV files under %s", dir)
	}
	sort.Strings(files)
	spk := map[string]int{}
	var out []Utterance
	for _, f := range files {
		s := filepath.Base(filepath.Dir(f))
		if _, ok := spk[s]; !ok {
			spk[s] = len(spk)
		}
		out = append(out, Utterance{Speaker: spk[s], Path: f})
	}
	return out, nil
}

// readWAV reads a training or trial file as 16 kHz samples (channel 0).
func readWAV(path string) ([]float32, error) { return capture.ReadWAVFile16k(path, 0) }
