//go:build portaudio && linux

package capture_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/capture"
)

// The PortAudio tests drive the real cgo path: PortAudio's ALSA host API
// opens ALSA PCMs defined by a test-only configuration (ALSA_CONFIG_PATH):
//
//	voxward_testRATE: a plug PCM (S16_LE mono at RATE, converted to
//	                  whatever PortAudio asks for) over
//	voxward_fileRATE: a file PCM whose capture data comes from "infile",
//	                  here a FIFO the test writes a known signal into, on
//	                  top of the null PCM for timing.
//
// The null PCM has no clock: it delivers as fast as it is read. The FIFO
// gives the flow control a real microphone's clock would: once the test
// has written its signal (and some silence to push it through ALSA's
// buffer), PortAudio's capture thread waits on the FIFO until the test
// closes it.

const alsaTemplate = `
pcm.voxward_file%[1]d {
    type file
    slave.pcm "null"
    file "/dev/null"
    infile "%[2]s"
    format "raw"
}
pcm.voxward_silent%[1]d {
    type plug
    slave { pcm "null"; format S16_LE; rate %[1]d; channels 1 }
}
`

// fSetPipeSize is Linux's F_SETPIPE_SZ fcntl.
const fSetPipeSize = 1031

// systemALSAConf is where Debian's libasound2-data puts ALSA's top-level
// configuration.
const systemALSAConf = "/usr/share/alsa/alsa.conf"

// alsaRig writes the ALSA configuration for the given rates into a temp
// dir, points ALSA_CONFIG_PATH at it, and opens each rate's FIFO for
// writing (read-write, so ALSA's open never blocks and writes never see
// EPIPE while PortAudio probes devices).
func alsaRig(t *testing.T, rates ...int) map[int]*os.File {
	t.Helper()
	dir := t.TempDir()
	var conf strings.Builder
	fifos := map[int]*os.File{}
	for _, r := range rates {
		p := filepath.Join(dir, fmt.Sprintf("in%d.fifo", r))
		require.NoError(t, syscall.Mkfifo(p, 0o600))
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		require.NoError(t, err)
		// A 1 MiB pipe holds the whole test signal, so ALSA's reads of it
		// are never short (a short read would leave a gap of null data).
		_, _, errno := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), fSetPipeSize, 1<<20)
		require.Zero(t, errno, "F_SETPIPE_SZ")
		t.Cleanup(func() { f.Close() })
		fifos[r] = f
		fmt.Fprintf(&conf, alsaTemplate, r, p)
	}
	cp := filepath.Join(dir, "asound.conf")
	require.NoError(t, os.WriteFile(cp, []byte(conf.String()), 0o600))
	// ALSA's own configuration comes first: PortAudio's device enumeration
	// asserts on a configuration without it.
	_, err := os.Stat(systemALSAConf)
	require.NoError(t, err, "the PortAudio tests need ALSA's configuration (apt-get install libasound2-data)")
	t.Setenv("ALSA_CONFIG_PATH", systemALSAConf+":"+cp)
	t.Setenv("JACK_NO_START_SERVER", "1")
	return fifos
}

// chirp is the known signal: a linear sweep from f0 to f1 over dur
// seconds, sampled at rate, amplitude amp (int16 scale).
func chirp(rate int, dur, f0, f1, amp float64) func(i int) float64 {
	return func(i int) float64 {
		t := float64(i) / float64(rate)
		if t >= dur {
			return 0
		}
		return amp * math.Sin(2*math.Pi*(f0*t+(f1-f0)*t*t/(2*dur)))
	}
}

// bestCorrelation returns the largest normalised correlation between got
// and want over lags in [-maxLag, maxLag], and the lag.
func bestCorrelation(got, want []float32, maxLag int) (float64, int) {
	best, at := -1.0, 0
	for lag := -maxLag; lag <= maxLag; lag++ {
		var xy, xx, yy float64
		for i := maxLag; i < len(got)-maxLag; i++ {
			j := i + lag
			if j < 0 || j >= len(want) {
				continue
			}
			x, y := float64(got[i]), float64(want[j])
			xy, xx, yy = xy+x*y, xx+x*x, yy+y*y
		}
		if xx > 0 && yy > 0 {
			if r := xy / math.Sqrt(xx*yy); r > best {
				best, at = r, lag
			}
		}
	}
	return best, at
}

func TestPortAudioListAndSelect(t *testing.T) {
	alsaRig(t, 48000, 44100)
	devs, err := capture.ListDevices()
	require.NoError(t, err)
	byName := map[string]capture.DeviceInfo{}
	for _, d := range devs {
		byName[d.Name] = d
		t.Logf("device %d %q host=%s channels=%d rate=%v default=%v", d.Index, d.Name, d.HostAPI, d.Channels, d.DefaultRate, d.Default)
	}
	require.Contains(t, byName, "voxward_file48000", "the test PCM is listed")
	require.Contains(t, byName, "voxward_silent48000", "the test PCM is listed")
	d48 := byName["voxward_silent48000"]
	assert.Equal(t, "ALSA", d48.HostAPI)
	assert.GreaterOrEqual(t, d48.Channels, 1)

	for _, c := range []struct {
		spec, want string
	}{
		{"portaudio:voxward_silent48000", "voxward_silent48000"},
		{"portaudio:SILENT44100", "voxward_silent44100"},
		{fmt.Sprintf("portaudio:%d", d48.Index), "voxward_silent48000"},
	} {
		dev, err := capture.ParseSource(c.spec, nil)
		require.NoError(t, err)
		g := capture.NewGate(dev, nil)
		l, err := g.Acquire(context.Background(), "test", 0)
		require.NoError(t, err, "open %s", c.spec)
		assert.Equal(t, c.want, g.Info().Device)
		// The null PCM has no clock: it delivers far faster than real
		// time, so the ring overflows, which Read must report and the
		// counters must show.
		n, err := g.Read(context.Background(), make([]float32, 1600))
		if err != nil {
			assert.ErrorIs(t, err, capture.ErrOverflow)
		}
		assert.Equal(t, 1600, n)
		l.Release()
		require.NoError(t, g.Close())
	}
	for _, spec := range []string{"portaudio:no such device", "portaudio:voxward_silent", "portaudio:9999"} {
		dev, err := capture.ParseSource(spec, nil)
		require.NoError(t, err)
		_, err = capture.NewGate(dev, nil).Acquire(context.Background(), "test", 0)
		assert.ErrorIs(t, err, capture.ErrNoDevice, "open %s", spec)
	}
}

// TestPortAudioCapturesKnownSignal plays a chirp through the ALSA file
// plugin at 48 and 44.1 kHz, captures it through the Gate and the real
// PortAudio stream, and compares the 16 kHz output with the same chirp
// computed at 16 kHz: correlation ≥ 0.99.
func TestPortAudioCapturesKnownSignal(t *testing.T) {
	for _, c := range []struct {
		rate int
		spec string
	}{
		{44100, "portaudio:voxward_file44100"},            // the device's default rate
		{48000, "portaudio:voxward_file48000?rate=48000"}, // an explicit rate
	} {
		t.Run(fmt.Sprint(c.rate), func(t *testing.T) {
			fifos := alsaRig(t, c.rate)
			const dur = 1.5
			sig := chirp(c.rate, dur, 200, 6000, 12000)
			// The signal, then 1 s of silence: ALSA holds up to a buffer's
			// worth of what it read back until the next read completes.
			// float32 samples, full scale ±1, as PortAudio asks for them.
			raw := make([]byte, 4*int((dur+1)*float64(c.rate)))
			for i := range int(dur * float64(c.rate)) {
				binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(sig(i)/32768)))
			}

			// All of it goes into the pipe before the stream starts.
			fifo := fifos[c.rate]
			_, err := fifo.Write(raw)
			require.NoError(t, err)

			dev, err := capture.ParseSource(c.spec, &capture.Options{RingSeconds: 10})
			require.NoError(t, err)
			g := capture.NewGate(dev, nil)
			defer g.Close()
			// On the way out, release PortAudio's capture thread (it waits
			// on the FIFO) before the stream is stopped.
			defer fifo.Close()
			l, err := g.Acquire(context.Background(), "test", 0)
			require.NoError(t, err)
			info := g.Info()
			assert.Equal(t, "portaudio", info.Kind)
			assert.Equal(t, c.rate, info.NativeRate)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			want := int(dur*capture.SampleRate) - 200 // the resampler holds back its delay
			got := make([]float32, 0, want)
			buf := make([]float32, 160)
			for len(got) < want {
				n, err := g.Read(ctx, buf[:min(len(buf), want-len(got))])
				require.NoError(t, err, "Read after %d samples; %+v", len(got), g.Status().Device)
				got = append(got, buf[:n]...)
			}
			st := g.Status()
			t.Logf("stats: %+v", st.Device)
			// Release the capture thread (it waits on the FIFO), then the lease.
			require.NoError(t, fifo.Close())
			l.Release()
			assert.False(t, g.Status().Open)

			ref := make([]float32, want)
			sig16 := chirp(capture.SampleRate, dur, 200, 6000, 12000)
			for i := range ref {
				ref[i] = float32(sig16(i))
			}
			r, lag := bestCorrelation(got, ref, 2000)
			t.Logf("%d Hz via PortAudio/ALSA → 16 kHz: correlation %.7f at lag %d samples", c.rate, r, lag)
			assert.GreaterOrEqual(t, r, 0.99, "correlation with the expected 16 kHz chirp")
			assert.Equal(t, 0, lag, "captured audio is time-aligned with the file")
		})
	}
}

// TestPortAudioMisreadFormat reproduces a device whose sample format is
// misread: 16-bit PCM played through a file PCM that does no conversion,
// so PortAudio reads pairs of int16 as float32 — NaN wherever the second
// one is in [-128, -1]. No NaN or Inf may reach the reader or the levels;
// the Gate counts them.
func TestPortAudioMisreadFormat(t *testing.T) {
	const rate = 48000
	fifos := alsaRig(t, rate)
	// A quiet 16-bit sine, 1.5 s of float32 frames' worth of bytes.
	raw := make([]byte, 4*rate*3/2)
	for i := range len(raw) / 2 {
		v := int16(math.Round(100 * math.Sin(2*math.Pi*440*float64(i)/rate)))
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(v))
	}
	fifo := fifos[rate]
	_, err := fifo.Write(raw)
	require.NoError(t, err)

	dev, err := capture.ParseSource(fmt.Sprintf("portaudio:voxward_file%d?rate=%d", rate, rate), &capture.Options{RingSeconds: 10})
	require.NoError(t, err)
	g := capture.NewGate(dev, nil)
	defer g.Close()
	defer fifo.Close() // release PortAudio's capture thread first
	l, err := g.Acquire(context.Background(), "test", 0)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	buf := make([]float32, capture.SampleRate/2)
	n, err := g.Read(ctx, buf)
	require.NoError(t, err)
	require.Equal(t, len(buf), n)
	for i, v := range buf {
		require.False(t, math.IsNaN(float64(v)) || math.IsInf(float64(v), 0), "sample %d = %v, want a finite sample", i, v)
	}
	st := g.Status()
	require.NoError(t, fifo.Close())
	l.Release()
	t.Logf("levels: %+v", st.Levels)
	assert.Positive(t, st.Levels.NonFinite, "the garbage is counted")
	_, err = json.Marshal(st)
	assert.NoError(t, err, "the status must encode as JSON")
}
