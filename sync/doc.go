// Package sync builds the de-identified batches that central servers pull
// from a voxward box, and serves the pull protocol. Files that also need the
// standard library's sync package import this one as vsync.
package sync
