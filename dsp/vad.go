package dsp

import (
	"fmt"
	"math"
)

// VADOptions configures a VAD. DefaultVADOptions returns values that work
// for 16 kHz speech from about 0 dB SNR upwards.
type VADOptions struct {
	SampleRate  float64 // Hz; default 16000
	FrameLength float64 // ms; default 25 (frames line up with Kaldi's, snip_edges)
	FrameShift  float64 // ms; default 10
	// FloorWindow is how far back, in frames, the noise floor looks: the
	// floor is the minimum smoothed frame level over that span, so it
	// follows a falling noise level at once and a rising one within the
	// window. Default 150 (1.5 s).
	FloorWindow int
	OnsetDB     float64 // level above the floor that starts speech; default 6 dB
	OffsetDB    float64 // level above the floor that keeps speech going; default 3 dB
	OnsetFrames int     // consecutive frames above OnsetDB to start speech; default 2
	Hangover    int     // frames kept as speech after the level drops; default 10
	// MinLevelDB is the absolute level (dB re full scale) below which a
	// frame is never speech. Default -60.
	MinLevelDB float64
}

// DefaultVADOptions returns the defaults documented on VADOptions.
func DefaultVADOptions() VADOptions {
	return VADOptions{
		SampleRate: 16000, FrameLength: 25, FrameShift: 10,
		FloorWindow: 150, OnsetDB: 6, OffsetDB: 3, OnsetFrames: 2, Hangover: 10,
		MinLevelDB: -60,
	}
}

// VAD is a streaming energy voice activity detector with an adaptive
// noise floor and hangover. Each frame's level is
//
//	L = 10·log10(Σ(x - x̄)²/N / 32768²)  dB re full scale,
//
// smoothed over three frames; the noise floor is the minimum smoothed level
// over the last FloorWindow frames plus 1 dB. Speech starts after
// OnsetFrames frames above floor+OnsetDB, continues while frames stay
// above floor+OffsetDB, and ends Hangover frames after they drop. Frames
// are those of Kaldi's framing with snip_edges, so decision t belongs to
// feature frame t. A VAD holds state and scratch; it is not safe for
// concurrent use.
type VAD struct {
	o             VADOptions
	win, shift    int
	buf           []float32 // samples not yet consumed by a full frame
	window        int
	dq            []floorItem // monotonic deque: the window's minimum is dq[head]
	head, seq     int
	prev1, prev2  float64
	frames        int
	above, hang   int
	inSpeech      bool
	floor, lastLv float64
	prime         []bool
	raw           []float64 // raw levels of the frames of the last Decide
	record        bool
}

// NewVAD returns a VAD for o, or an error wrapping ErrInvalidOptions.
func NewVAD(o VADOptions) (*VAD, error) {
	win := int(o.SampleRate * o.FrameLength * 0.001)
	shift := int(o.SampleRate * o.FrameShift * 0.001)
	if win < 1 || shift < 1 || o.FloorWindow < 1 || o.OnsetFrames < 1 || o.Hangover < 0 ||
		math.IsNaN(o.OnsetDB) || math.IsNaN(o.OffsetDB) || math.IsNaN(o.MinLevelDB) || o.FloorWindow > 1<<20 {
		return nil, fmt.Errorf("%w: VAD %+v", ErrInvalidOptions, o)
	}
	v := &VAD{o: o, win: win, shift: shift, window: o.FloorWindow, dq: make([]floorItem, 0, 2*o.FloorWindow+2), buf: make([]float32, 0, 2*win)}
	v.Reset()
	return v, nil
}

// Reset forgets all state, as for a new stream.
func (v *VAD) Reset() {
	v.buf = v.buf[:0]
	v.dq, v.head, v.seq = v.dq[:0], 0, 0
	v.frames, v.above, v.hang = 0, 0, 0
	v.inSpeech = false
	v.floor, v.lastLv = math.Inf(1), math.Inf(-1)
}

// NoiseFloor returns the current noise floor estimate in dB re full scale
// (+Inf before the first frame).
func (v *VAD) NoiseFloor() float64 { return v.floor }

// Level returns the smoothed level of the last frame in dB re full scale.
func (v *VAD) Level() float64 { return v.lastLv }

// Accept feeds samples and appends one decision (true = speech) to dst for
// every frame completed by them, returning dst. Over a whole stream the
// decisions are those of the frames of Kaldi's framing with snip_edges.
func (v *VAD) Accept(dst []bool, samples []float32) []bool {
	for len(samples) > 0 {
		need := v.win - len(v.buf)
		if need > 0 {
			n := min(need, len(samples))
			v.buf = append(v.buf, samples[:n]...)
			samples = samples[n:]
			if len(v.buf) < v.win {
				break
			}
		}
		dst = append(dst, v.frame(v.buf[:v.win]))
		v.buf = append(v.buf[:0], v.buf[v.shift:]...)
	}
	return dst
}

// Decide runs a fresh VAD over one whole utterance and returns the
// decision of every frame in dst (reused when long enough). Unlike a
// stream, it knows the future: the noise floor starts from the first
// FloorWindow frames, so an utterance that opens with speech is not taken
// for noise.
func (v *VAD) Decide(dst []bool, samples []float32) []bool {
	v.Reset()
	prime := min(len(samples), v.win+v.shift*(v.window-1))
	v.prime = v.Accept(v.prime[:0], samples[:prime])
	v.buf = v.buf[:0]
	v.frames, v.above, v.hang, v.inSpeech = 0, 0, 0, false
	v.raw, v.record = v.raw[:0], true
	dst = v.Accept(dst[:0], samples)
	v.record = false
	return dst
}

// FrameLevels returns the raw level (dB re full scale) of every frame of
// the last Decide call; it is valid until the next call.
func (v *VAD) FrameLevels() []float64 { return v.raw }

func frameLevel(x []float32) float64 {
	var s float64
	for _, a := range x {
		s += float64(a)
	}
	m := s / float64(len(x))
	var e float64
	for _, a := range x {
		d := float64(a) - m
		e += d * d
	}
	return 10 * math.Log10(e/float64(len(x))/(32768*32768)+1e-12)
}

// floorItem is a level in the noise-floor window and its frame number.
type floorItem struct {
	seq   int
	level float64
}

// pushFloor adds a smoothed level and returns the minimum over the last
// FloorWindow levels (a monotonic deque: O(1) amortised per frame).
func (v *VAD) pushFloor(lv float64) float64 {
	for len(v.dq) > v.head && v.dq[len(v.dq)-1].level >= lv {
		v.dq = v.dq[:len(v.dq)-1]
	}
	if len(v.dq) == cap(v.dq) { // compact: reuse the space before head
		n := copy(v.dq, v.dq[v.head:])
		v.dq, v.head = v.dq[:n], 0
	}
	v.dq = append(v.dq, floorItem{v.seq, lv})
	for v.dq[v.head].seq <= v.seq-v.window {
		v.head++
	}
	v.seq++
	return v.dq[v.head].level
}

func (v *VAD) frame(x []float32) bool {
	raw := frameLevel(x)
	if v.record {
		v.raw = append(v.raw, raw)
	}
	if v.frames == 0 {
		v.prev1, v.prev2 = raw, raw
	}
	lv := (raw + v.prev1 + v.prev2) / 3
	v.prev2, v.prev1 = v.prev1, raw
	v.frames++
	v.lastLv = lv
	f := v.pushFloor(lv)
	v.floor = f + 1
	if raw < v.o.MinLevelDB {
		v.above, v.hang, v.inSpeech = 0, 0, false
		return false
	}
	// Use the raw level for onset (fast) and the smoothed one to hold.
	if raw > v.floor+v.o.OnsetDB {
		v.above++
	} else {
		v.above = 0
	}
	switch {
	case v.above >= v.o.OnsetFrames:
		v.inSpeech, v.hang = true, v.o.Hangover
	case v.inSpeech && lv > v.floor+v.o.OffsetDB:
		v.hang = v.o.Hangover
	case v.inSpeech && v.hang > 0:
		v.hang--
	default:
		v.inSpeech = false
	}
	return v.inSpeech
}
