//go:build ignore

// gen-speakers-testdata cuts the recordings testdata/speakers/ holds from
// the shared LibriSpeech data (CC BY 4.0, "LibriSpeech (c) 2014 by Vassil
// Panayotov"): two speakers' enrolment recordings and a conversation in
// which they alternate with a third, unenrolled voice. The choice of
// utterances is fixed in advance (the first long one of each enrolled
// speaker for enrolment, the next short ones for the turns), not picked
// for how the model does on them.
//
//	go run scripts/gen-speakers-testdata.go [-shared ../shared/data]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/voxward/voxward/capture"
)

const rate = capture.SampleRate

func read(path string) []float32 {
	x, err := capture.ReadWAVFile16k(path, 0)
	if err != nil {
		fail(err)
	}
	return x
}

func write(path string, x []float32) {
	f, err := os.Create(path)
	if err != nil {
		fail(err)
	}
	w, err := capture.NewWAVWriter(f, rate)
	if err == nil {
		err = w.Write(x)
	}
	if err == nil {
		err = w.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fail(fmt.Errorf("%s: %w", path, err))
	}
	fmt.Printf("%s: %.1f s\n", path, float64(len(x))/rate)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen-speakers-testdata:", err)
	os.Exit(1)
}

func main() {
	shared := flag.String("shared", filepath.Join("..", "shared", "data"), "the shared data folder")
	out := flag.String("out", filepath.Join("testdata", "speakers"), "output folder")
	flag.Parse()
	lib := filepath.Join(*shared, "librispeech", "test-other")
	utt := func(spk, name string) []float32 { return read(filepath.Join(lib, spk, name+".wav")) }
	first := func(x []float32, sec float64) []float32 { return x[:min(len(x), int(sec*rate))] }

	// Enrolment: 12 s of the first long utterance of each enrolled speaker.
	write(filepath.Join(*out, "enrol-1688.wav"), first(utt("1688", "1688-142285-0000"), 12))
	write(filepath.Join(*out, "enrol-1998.wav"), first(utt("1998", "1998-15444-0000"), 12))

	// The conversation: 3-s turns from other utterances, 1 s of silence
	// between them: 1688, 1998, 2033 (not enrolled), then again.
	turns := [][]float32{
		first(utt("1688", "1688-142285-0004"), 3), first(utt("1998", "1998-15444-0003"), 3), first(utt("2033", "2033-164914-0004"), 3),
		first(utt("1688", "1688-142285-0005"), 3), first(utt("1998", "1998-15444-0004"), 3), first(utt("2033", "2033-164914-0007"), 3),
	}
	gap := make([]float32, rate)
	conv := append([]float32(nil), gap...)
	for _, t := range turns {
		conv = append(conv, t...)
		conv = append(conv, gap...)
	}
	write(filepath.Join(*out, "conversation.wav"), conv)
}
