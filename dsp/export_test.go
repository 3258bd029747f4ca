package dsp

// ExactFrames reports how many frames f has recomputed on the exact path.
func ExactFrames(f *Fbank) int { return f.fe.exactFrames }
