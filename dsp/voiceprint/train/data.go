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
	Corpus  string // multilingual recordings: the corpus folder; "" for LibriSpeech
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

// multilingualCorpora are the folders of DATA/multilingual whose speakers
// the model half of ListMultilingual draws from.
var multilingualCorpora = []string{"arabic_commands", "malayalam_msc"}

// ListMultilingual lists the recordings of the multilingual speakers the
// model may learn from: in each corpus of DATA/multilingual, the speaker
// folders sorted by name, and of those the first, third, fifth and so on
// (the "model half"); the others (the "evaluation half") are never read
// in training, and every dev figure across languages is measured on their
// trials only (voxward eval leaves out the trials of speakers the model
// names in its cohort). Speakers are numbered from first, in order, and
// each recording carries its corpus; the list is sorted by path. A data
// folder without multilingual/ gives an empty list.
func ListMultilingual(data string, first int) ([]Utterance, error) {
	var out []Utterance
	spk := first
	for _, c := range multilingualCorpora {
		dirs, err := filepath.Glob(filepath.Join(data, "multilingual", c, "*"))
		if err != nil {
			return nil, err
		}
		sort.Strings(dirs)
		for k, d := range dirs {
			if k%2 != 0 {
				continue
			}
			files, err := filepath.Glob(filepath.Join(d, "*.wav"))
			if err != nil {
				return nil, err
			}
			if len(files) == 0 {
				continue
			}
			sort.Strings(files)
			for _, f := range files {
				out = append(out, Utterance{Speaker: spk, Path: f, Corpus: c})
			}
			spk++
		}
	}
	return out, nil
}
