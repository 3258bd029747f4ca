// Package capture reads audio for voxward: WAV files (through
// github.com/go-audio/wav), raw PCM and, with the portaudio build tag, the
// microphone. It owns the consent gate that keeps the device closed while no
// consent lease is held.
package capture
