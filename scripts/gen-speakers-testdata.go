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
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

const rate = 16000

func read(path string) []int16 {
	b, err := os.ReadFile(path)
	if err != nil {
		fail(err)
	}
	off := 12
	for off+8 <= len(b) {
		id, n := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		off += 8
		if id == "data" {
			n = min(n, len(b)-off)
			x := make([]int16, n/2)
			for i := range x {
				x[i] = int16(binary.LittleEndian.Uint16(b[off+2*i:]))
			}
			return x
		}
		off += n + n&1
	}
	fail(fmt.Errorf("%s: no data chunk", path))
	return nil
}

func write(path string, x []int16) {
	b := make([]byte, 44+2*len(x))
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*len(x)))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], rate)
	binary.LittleEndian.PutUint32(b[28:], 2*rate)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*len(x)))
	for i, v := range x {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(v))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		fail(err)
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
	utt := func(spk, name string) []int16 { return read(filepath.Join(lib, spk, name+".wav")) }
	first := func(x []int16, sec float64) []int16 { return x[:min(len(x), int(sec*rate))] }

	// Enrolment: 12 s of the first long utterance of each enrolled speaker.
	write(filepath.Join(*out, "enrol-1688.wav"), first(utt("1688", "1688-142285-0000"), 12))
	write(filepath.Join(*out, "enrol-1998.wav"), first(utt("1998", "1998-15444-0000"), 12))

	// The conversation: 3-s turns from other utterances, 1 s of silence
	// between them: 1688, 1998, 2033 (not enrolled), then again.
	turns := [][]int16{
		first(utt("1688", "1688-142285-0004"), 3), first(utt("1998", "1998-15444-0003"), 3), first(utt("2033", "2033-164914-0004"), 3),
		first(utt("1688", "1688-142285-0005"), 3), first(utt("1998", "1998-15444-0004"), 3), first(utt("2033", "2033-164914-0007"), 3),
	}
	gap := make([]int16, rate)
	conv := append([]int16(nil), gap...)
	for _, t := range turns {
		conv = append(conv, t...)
		conv = append(conv, gap...)
	}
	write(filepath.Join(*out, "conversation.wav"), conv)
}
