package eval

import (
	"math"
	"math/rand/v2"

	"github.com/voxward/voxward/dsp"
)

// Channel simulations for training with augmentation and for evaluating
// robustness ("voxward eval --augment"). They work on 16 kHz samples on
// the int16 scale and are deterministic.

// telephoneTaps is the length of the telephone band-pass filter.
const telephoneTaps = 127

var telephoneFIR = func() []float32 {
	// Windowed-sinc band-pass 300–3400 Hz at 16 kHz (Hamming window).
	h := make([]float32, telephoneTaps)
	lo, hi := 300.0/16000, 3400.0/16000
	mid := telephoneTaps / 2
	for i := range h {
		n := float64(i - mid)
		var v float64
		if n == 0 {
			v = 2 * (hi - lo)
		} else {
			v = (math.Sin(2*math.Pi*hi*n) - math.Sin(2*math.Pi*lo*n)) / (math.Pi * n)
		}
		w := 0.54 - 0.46*math.Cos(2*math.Pi*float64(i)/float64(telephoneTaps-1))
		h[i] = float32(v * w)
	}
	return h
}()

// Telephone writes to dst (allocated when short) what x sounds like
// through a narrow-band telephone channel: band-limited to 300–3400 Hz
// (what an 8 kHz codec keeps) and companded with G.711 μ-law, then
// returns it.
func Telephone(dst, x []float32) []float32 {
	dst = grow(dst, len(x))
	mid := telephoneTaps / 2
	for i := range x {
		var s float32
		for k, h := range telephoneFIR {
			j := i + mid - k
			if j >= 0 && j < len(x) {
				s += h * x[j]
			}
		}
		dst[i] = muLaw(s)
	}
	return dst
}

// NarrowBand writes to dst (allocated when short) x as an 8 kHz recording
// played back at 16 kHz would be — resampled to 8 kHz and back, so
// nothing is left above 4 kHz, not even quantisation noise — and returns
// it. It is the narrow-band file Telephone is not: Telephone's μ-law noise
// fills the upper band, a real 8 kHz file leaves it empty.
func NarrowBand(dst, x []float32) []float32 {
	down, err := dsp.NewResampler(16000, 8000)
	if err != nil {
		panic(err) // fixed, supported rates
	}
	up, err := dsp.NewResampler(8000, 16000)
	if err != nil {
		panic(err)
	}
	y := down.Flush(down.Process(make([]float32, 0, down.MaxOut(len(x))+down.Delay()+1), x))
	y = y[min(down.Delay(), len(y)):]
	z := up.Flush(up.Process(make([]float32, 0, up.MaxOut(len(y))+up.Delay()+1), y))
	z = z[min(up.Delay(), len(z)):]
	dst = grow(dst, len(x))
	n := copy(dst, z)
	clear(dst[n:])
	return dst
}

// Speed returns x played percent/100 times as fast (Kaldi's speed
// perturbation): resampled from percent to 100, so that at the same
// sample rate it lasts 100/percent as long and every frequency, the
// voice's pitch and formants with it, is scaled by percent/100. Training
// takes each speed of a speaker as a speaker of its own (Ko et al., "Audio
// augmentation for speech recognition", Interspeech 2015; Yamamoto et
// al., "Speaker augmentation and bandwidth extension for deep speaker
// embedding", Interspeech 2019). percent must be 50 to 200.
func Speed(x []float32, percent int) []float32 {
	if percent < 50 || percent > 200 {
		panic("eval: speed outside 50–200 %")
	}
	r, err := dsp.NewResampler(percent, 100)
	if err != nil {
		panic(err) // a supported ratio for every percent in range
	}
	y := r.Flush(r.Process(make([]float32, 0, r.MaxOut(len(x))+r.Delay()+1), x))
	y = y[min(r.Delay(), len(y)):]
	return y[:min(len(x)*100/percent, len(y))]
}

// muLaw quantises a sample on the int16 scale through 8-bit μ-law (μ =
// 255) and back.
func muLaw(x float32) float32 {
	const mu = 255.0
	v := math.Max(-1, math.Min(1, float64(x)/32768))
	y := math.Copysign(math.Log1p(mu*math.Abs(v))/math.Log1p(mu), v)
	q := math.Round(y*127) / 127
	return float32(math.Copysign((math.Pow(1+mu, math.Abs(q))-1)/mu, q) * 32768)
}

// AddNoise writes to dst (allocated when short) x plus seeded noise at
// snrDB below x's mean power, and returns it. The noise is a mix of white
// and low-pass (pink-ish) Gaussian noise, so it covers the whole band
// and leans to low frequencies as room noise does.
func AddNoise(dst, x []float32, snrDB float64, seed uint64) []float32 {
	dst = grow(dst, len(x))
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	var px float64
	for _, v := range x {
		px += float64(v) * float64(v)
	}
	px /= float64(max(len(x), 1))
	nz := make([]float64, len(x))
	var pn, lp float64
	for i := range nz {
		w := r.NormFloat64()
		lp = 0.95*lp + 0.3*w
		nz[i] = 0.5*w + lp
		pn += nz[i] * nz[i]
	}
	pn /= float64(max(len(x), 1))
	g := 0.0
	if pn > 0 {
		g = math.Sqrt(px / pn / math.Pow(10, snrDB/10))
	}
	for i, v := range x {
		dst[i] = v + float32(g*nz[i])
	}
	return dst
}

// Reverb writes to dst (allocated when short) x in a simulated room and
// returns it: the direct sound plus a sparse seeded impulse response —
// reflections at random delays up to rt60 seconds whose amplitudes decay
// by 60 dB over rt60 — scaled to keep x's power. It stands in for a
// venue microphone a few metres from the talker.
func Reverb(dst, x []float32, rt60 float64, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x7e7b))
	const taps = 300
	maxDelay := int(rt60 * 16000)
	if maxDelay < 2 {
		return append(grow(dst, len(x))[:0], x...)
	}
	delays := make([]int, taps)
	gains := make([]float32, taps)
	energy := 1.0
	for k := range delays {
		d := 16 + r.IntN(maxDelay) // reflections after 1 ms
		delays[k] = d
		g := r.NormFloat64() * math.Pow(10, -3*float64(d)/float64(maxDelay)) * 0.25
		gains[k] = float32(g)
		energy += g * g
	}
	norm := float32(1 / math.Sqrt(energy))
	dst = grow(dst, len(x))
	for i := range dst[:len(x)] {
		dst[i] = x[i]
	}
	for k, d := range delays {
		g := gains[k]
		for i := len(x) - 1; i >= d; i-- {
			dst[i] += g * x[i-d]
		}
	}
	for i := range dst[:len(x)] {
		dst[i] *= norm
	}
	return dst
}

// grow returns s resliced to n elements, allocating if its capacity is short.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// Room writes to dst (allocated when short) x as a seeded simulated room
// would colour and reverberate it, and returns it at x's power. It is a
// different simulation from Reverb, so that training on Room and
// evaluating on Reverb does not reward learning one simulator: a
// Schroeder–Moorer reverberator (four damped feedback combs in parallel,
// two allpasses in series) whose comb gains give the reverberation time
// rt60 (seconds), mixed with the direct sound at a seeded
// direct-to-reverberant ratio (−3 to +6 dB), then shaped by a seeded
// microphone response (a spectral tilt and two peaking filters of up to
// ±6 dB between 150 and 5,000 Hz). rt60 must be positive.
func Room(dst, x []float32, rt60 float64, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x4007))
	const fs = 16000.0
	n := len(x)
	wet := make([]float64, n)
	for c := 0; c < 4; c++ {
		d := int((0.025 + 0.02*float64(c)/3 + 0.006*r.Float64()) * fs)
		g := math.Pow(10, -3*float64(d)/(rt60*fs))
		damp := 0.1 + 0.3*r.Float64() // high frequencies die sooner
		buf := make([]float64, d)
		var lp float64
		for i := range n {
			k := i % d
			y := buf[k]
			lp = (1-damp)*y + damp*lp
			buf[k] = float64(x[i]) + g*lp
			wet[i] += y
		}
	}
	for _, d := range []int{80, 27} { // 5 ms and 1.7 ms
		const g = 0.7
		buf := make([]float64, d)
		for i := range n {
			k := i % d
			b := buf[k]
			v := wet[i] + g*b
			buf[k] = v
			wet[i] = b - g*v
		}
	}
	var pd, pw float64
	for i, v := range x {
		pd += float64(v) * float64(v)
		pw += wet[i] * wet[i]
	}
	drr := -3 + 9*r.Float64()
	gw := 0.0
	if pw > 0 {
		gw = math.Sqrt(pd / pw / math.Pow(10, drr/10))
	}
	y := make([]float64, n)
	for i, v := range x {
		y[i] = float64(v) + gw*wet[i]
	}
	// Microphone response: a first-order tilt, then two peaking biquads.
	tilt := 0.6 * (r.Float64() - 0.5)
	var prev float64
	for i, v := range y {
		y[i], prev = v-tilt*prev, v
	}
	for range 2 {
		f0 := 150 * math.Pow(5000.0/150, r.Float64())
		gain := 12 * (r.Float64() - 0.5)
		peaking(y, f0/fs, gain, 1.0)
	}
	var py float64
	for _, v := range y {
		py += v * v
	}
	s := 0.0
	if py > 0 {
		s = math.Sqrt(pd / py)
	}
	dst = grow(dst, n)
	for i, v := range y {
		dst[i] = float32(v * s)
	}
	return dst
}

// peaking filters y in place through an RBJ peaking-EQ biquad at the
// normalised frequency f (cycles per sample), gain dB and quality q.
func peaking(y []float64, f, gainDB, q float64) {
	a := math.Pow(10, gainDB/40)
	w := 2 * math.Pi * f
	alpha := math.Sin(w) / (2 * q)
	b0, b1, b2 := 1+alpha*a, -2*math.Cos(w), 1-alpha*a
	a0, a1, a2 := 1+alpha/a, -2*math.Cos(w), 1-alpha/a
	b0, b1, b2, a1, a2 = b0/a0, b1/a0, b2/a0, a1/a0, a2/a0
	var x1, x2, y1, y2 float64
	for i, v := range y {
		o := b0*v + b1*x1 + b2*x2 - a1*y1 - a2*y2
		x2, x1, y2, y1 = x1, v, y1, o
		y[i] = o
	}
}
