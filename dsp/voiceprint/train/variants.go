package train

import "github.com/voxward/voxward/dsp/voiceprint/eval"

// variants of an utterance used by the back end.
const (
	vClean = iota
	vTel
	vNoise
	vHalfA
	vHalfB
	vHalfATel
	vHalfBNoise
	vNarrow                       // through an 8 kHz recording: nothing above 4 kHz
	vRoom                         // in a simulated room of the speaker's own (eval.Room; Config.Rooms)
	vRoom2                        // in a second room of the speaker's own
	vRoom3                        // a third
	vRoom4                        // a fourth
	napVariants                   // the variants above give the nuisance directions (the rooms up to Config.Rooms)
	vTail       = napVariants     // the last 3 s: a probe, clean
	vTailTel    = napVariants + 1 // the same through the telephone channel
	vHead       = napVariants + 2 // all but the last 3 s: an enrolment, clean
	vHeadTel    = napVariants + 3 // the same through the telephone channel
	vNoise15    = napVariants + 4 // the whole utterance at 15 dB SNR: an enrolment in the noisy calibration channel
	vCrop       = napVariants + 5 // calibCrops 3-s pieces from the start in each calibration channel (clean, telephone, noise 15 dB, 8 kHz)
	numVariants = vCrop + calibChannels*calibCrops
)

// calibChannels are the channels calibration holds the false-accept rate
// in: clean, telephone, and noise at 15 dB SNR (just above the enrolment
// quality gate's 12 dB), which set the general thresholds, and 8 kHz
// recordings (both sides band-limited), which set the band-limited ones
// (ModelConfig.BandLimited).
const calibChannels = 4

// calibBandLimited is the calibration channel whose enrolments and probes
// are both band-limited.
const calibBandLimited = 3

// mlChannels are the channels the multilingual recordings of the model
// half are taken in, for the cohort (taking turns) and for calibration:
// as recorded, and as 8 kHz recordings (with both sides 8 kHz in
// calibration, the channel where non-target scores ran highest).
var mlChannels = []string{"none", "narrowband"}

// calibEnrolment is the variant that serves as an enrolment in each
// calibration channel.
var calibEnrolment = [calibChannels]int{vClean, vTel, vNoise15, vNarrow}

// cropSamples is the length of the short test segments calibration uses:
// thresholds are set where they are hardest, on 3-second probes.
const cropSamples = 3 * 16000

// calibCrops is how many consecutive 3-second pieces of each training
// utterance serve as non-target probes in calibration.
const calibCrops = 4

// cropOf returns the c-th 3-second piece of x, or nil if x is too short.
func cropOf(x []float32, c int) []float32 {
	if (c+1)*cropSamples > len(x) {
		return nil
	}
	return x[c*cropSamples : (c+1)*cropSamples]
}

func variantAudio(x []float32, spk, v int) []float32 {
	h := len(x) / 2
	snr := []float64{5, 10, 20}[spk%3]
	switch {
	case v == vClean:
		return x
	case v == vTel:
		return eval.Telephone(nil, x)
	case v == vNoise:
		return eval.AddNoise(nil, x, snr, uint64(spk))
	case v == vHalfA:
		return x[:h]
	case v == vHalfB:
		return x[h:]
	case v == vHalfATel:
		return eval.Telephone(nil, x[:h])
	case v == vHalfBNoise:
		return eval.AddNoise(nil, x[h:], 15, uint64(spk)+7777)
	case v == vNarrow:
		return eval.NarrowBand(nil, x)
	case v >= vRoom && v < napVariants:
		return roomOf(x, spk, v-vRoom)
	case v == vTail:
		return x[max(0, len(x)-cropSamples):]
	case v == vTailTel:
		return eval.Telephone(nil, x[max(0, len(x)-cropSamples):])
	case v == vHead:
		return x[:max(0, len(x)-cropSamples)]
	case v == vHeadTel:
		return eval.Telephone(nil, x[:max(0, len(x)-cropSamples)])
	case v == vNoise15:
		return eval.AddNoise(nil, x, 15, uint64(spk)+31337)
	case v >= vCrop && v < numVariants:
		ch, c := (v-vCrop)/calibCrops, (v-vCrop)%calibCrops
		piece := cropOf(x, c)
		switch {
		case piece == nil || ch == 0:
			return piece
		case ch == 1:
			return eval.Telephone(nil, piece)
		case ch == calibBandLimited:
			return eval.NarrowBand(nil, piece)
		default:
			return eval.AddNoise(nil, piece, 15, uint64(spk*calibCrops+c)+4242)
		}
	}
	panic("train: unknown variant")
}

// maxRooms is how many room variants there are (vRoom to vRoom4).
const maxRooms = napVariants - vRoom

// roomOf is x in the k-th simulated room of speaker spk: reverberation
// times spread from 0.25 to 0.9 s over the speakers (the second room half
// that range away from the first, the third and fourth a quarter), a
// colouration of each speaker's own.
func roomOf(x []float32, spk, k int) []float32 {
	rt60 := 0.25 + 0.65*float64((spk*37+[]int{0, 50, 25, 75}[k])%100)/99
	return eval.Room(nil, x, rt60, uint64(spk)+0x600d+uint64(k)<<32)
}
