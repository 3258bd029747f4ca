package voiceprint

import "fmt"

// IssueNotSpeech: the audio's level or spectrum is too steady for speech
// (a tone, hum, steady or bursting noise, a beep).
const IssueNotSpeech = "not_speech"

// SpeechGate decides whether audio holds enough speech to be a voiceprint
// at all: silence, tones, hum and noise become a vector like any audio,
// and two such vectors can score as "the same speaker". Embedding,
// scoring, enrolment and live matching apply it.
//
// The thresholds were set on the shared development speech (1,718 clips
// and 3-second cuts of LibriSpeech English, Arabic and Malayalam: level
// spread at least 4.7 dB, spectral flux at least 6.4) against generated
// non-speech (silence, a 300 Hz tone, 50 Hz hum with harmonics, white and
// pink noise: spread under 1 dB and no speech frames; a beep and noise
// bursts of 0.25 s: spread under 1.6 dB). A chord changing every 0.4 s
// (spread 4.7 dB, flux 6.1) passes: music is not reliably told apart.
type SpeechGate struct {
	MinSpeechSeconds float64 // speech the VAD keeps; default 1.25 (a 1-s burst is refused; the shortest dev utterance, 2 s long, has 1.42)
	MinVoiceSeconds  float64 // below this the audio has no voice at all; default 0.5
	MinLevelSpreadDB float64 // default 3
	MinSpectralFlux  float64 // default 2
}

// DefaultSpeechGate returns the defaults documented on SpeechGate.
func DefaultSpeechGate() SpeechGate {
	return SpeechGate{MinSpeechSeconds: 1.25, MinVoiceSeconds: 0.5, MinLevelSpreadDB: 3, MinSpectralFlux: 2}
}

// Check returns why an analysis is no voice sample — IssueNoVoice,
// IssueNotSpeech, IssueTooShort, in that order of precedence — or "".
func (g SpeechGate) Check(a Analysis) string {
	switch {
	case a.SpeechSeconds < g.MinVoiceSeconds:
		return IssueNoVoice
	case a.LevelSpreadDB < g.MinLevelSpreadDB || a.SpectralFlux < g.MinSpectralFlux:
		return IssueNotSpeech
	case a.SpeechSeconds < g.MinSpeechSeconds:
		return IssueTooShort
	}
	return ""
}

// Explain is a sentence for a refusal: the reason and the figures.
func (g SpeechGate) Explain(a Analysis) string {
	switch g.Check(a) {
	case IssueNoVoice:
		return fmt.Sprintf("no_voice: %.2f s of speech in %.2f s of audio", a.SpeechSeconds, a.Seconds)
	case IssueNotSpeech:
		return fmt.Sprintf("not_speech: the level varies by %.1f dB (speech: at least %g) and the spectrum by %.2f (at least %g) — a tone, hum or noise",
			a.LevelSpreadDB, g.MinLevelSpreadDB, a.SpectralFlux, g.MinSpectralFlux)
	case IssueTooShort:
		return fmt.Sprintf("too_short: %.2f s of speech (at least %g s)", a.SpeechSeconds, g.MinSpeechSeconds)
	}
	return ""
}
