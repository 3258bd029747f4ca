// Package voxward is the root of the voxward module: an edge capture agent
// for venue captioning boxes.
//
// The code lives in sub-packages, lowest layer first:
//
//	dsp      numeric kernels: FFT, windows, mel filterbank, fbank/MFCC, CMN, deltas
//	capture  audio sources, the consent gate, ring buffer, level meter
//	vault    the encrypted bbolt store (imports nothing of ours)
//	sync     de-identified batches and the pull protocol (imports nothing of ours)
//	agent    the daemon that wires everything together
//	cmd/voxward  the one binary
//
// This package holds no code; its test enforces the layering above.
package voxward
