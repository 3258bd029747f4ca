// Package train is the recipe that makes the shipped voiceprint model
// ("make voiceprint-model", "voxward train"): Train reads the training
// speakers of a speech data folder (ListUtterances), grows a UBM by EM
// with binary splitting (TrainUBM, also used by the gmm-ubm peer), learns
// the supervector centre, the NAP nuisance directions and the s-norm
// cohort of each branch, fuses the branches and calibrates the
// verification and open-set thresholds on cross-fitted scores of the
// training speakers in clean, telephone and noisy channels. The result
// depends only on the data and the Config (not on Jobs or scheduling), so
// a retrain reproduces the shipped file byte for byte. "voxward train
// --help" tells the recipe step by step. The daemon never imports it.
package train
