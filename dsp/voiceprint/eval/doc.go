// Package eval measures voiceprint systems offline: trial lists
// (ParseTrials), the detection metrics (EER, MinDCF, DetectionCurve,
// ThresholdForFAR) and DET plots (PlotDET), channel simulations that put
// speech through a telephone line, an 8 kHz recording, noise or a room
// (Telephone, NarrowBand, AddNoise, Reverb; Augment picks one by name),
// and the harness that reads a trial list's audio and scores it (Model for
// the shipped model; ReadSides, ScoreTrials and NewResult for any system,
// as dsp/voiceprint/peers uses them). "voxward eval" is a thin command
// over it. The daemon never imports it.
package eval
