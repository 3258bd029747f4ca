// Package dsp holds voxward's numeric kernels: a real-input FFT, Kaldi's
// frame extraction and windows, the mel filterbank, log filterbank (fbank)
// and MFCC features, cepstral mean and variance normalisation, deltas, a
// polyphase resampler and a voice activity detector. The speaker model
// built on them lives in dsp/voiceprint; nothing here imports it.
//
// Everything here follows Kaldi's feature definitions (and so
// torchaudio.compliance.kaldi) exactly. Kernels are structs that precompute
// their tables and own their scratch space; methods take the destination
// first and allocate only when it is nil or too short, so steady-state
// processing allocates nothing. The package does no I/O, starts no
// goroutines and reads no clock.
//
// Samples are float32 on the 16-bit integer scale (a full-scale sine peaks
// at 32767), as Kaldi reads WAV files.
package dsp
