// Package voiceprint is the speaker model the box runs: the model file
// format (ParseModel, DefaultModel: the shipped model, embedded), the
// extractor that turns 16 kHz samples into a voiceprint (speech frames by
// dsp's VAD, MFCC + Δ + ΔΔ, GMM supervector statistics, NAP, length
// normalisation; fused branches), scoring with adaptive s-norm and the
// calibrated thresholds (Scorer), enrolment with its quality gates
// (Enroller) and open-set identification (Scorer.Identify).
//
// It does no I/O beyond parsing a model it is given, starts no goroutines
// and reads no clock; it imports dsp and the standard library only. The
// training recipe is dsp/voiceprint/train; the evaluation machinery
// (trial lists, EER/minDCF/DET, channel simulations) is dsp/voiceprint/eval
// and the classical baselines measured beside the model are
// dsp/voiceprint/peers. The daemon imports this package, never those.
package voiceprint
