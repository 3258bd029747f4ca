// Package peers holds two classical speaker-verification baselines that
// voxward eval measures in the same run, on the same trials and through
// the same channels as the shipped model (VOICEPRINT.md describes what
// they did on our data):
//
//   - MFCCStats, untrained: per utterance, the mean of c1–c19 over the
//     speech frames before any mean normalisation and the standard
//     deviation of each of the 60 MFCC+Δ+ΔΔ features, scored by cosine;
//   - GMMUBM: a 256-component diagonal UBM (LoadOrTrainUBM, trained with
//     the model's own train.TrainUBM), means MAP-adapted to the enrolment
//     (relevance 16), scored by the average frame log-likelihood ratio.
//
// They are peers for measurement, not products: nothing in the daemon
// imports this package.
package peers
