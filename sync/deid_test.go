package sync_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	vsync "github.com/voxward/voxward/sync"
)

// chacha is a deterministic io.Reader for noise in tests.
func chacha(seed byte) *rand.ChaCha8 {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

func TestSessionStatsDeidentified(t *testing.T) {
	d := vsync.Deidentifier{Rand: chacha(1)}
	start := time.Date(2026, 5, 1, 10, 17, 42, 123, time.FixedZone("CEST", 2*3600))
	line, err := d.SessionStats(vsync.SessionObservation{
		Started: start, Stopped: start.Add(47*time.Minute + 31*time.Second),
		Participants: 40, Enrolled: 3, Turns: 120, UnknownTurns: 0,
	})
	require.NoError(t, err)
	r, err := vsync.DecodeRecord(line)
	require.NoError(t, err, "%s", line)
	s := r.SessionStats
	require.NotNil(t, s)
	assert.Equal(t, time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC), s.Hour, "hour: truncated, in UTC")
	assert.Equal(t, 48, s.DurationMinutes)
	assert.Nil(t, s.Enrolled, "3 enrolled (below the minimum group of 5) was not suppressed")
	assert.Nil(t, s.UnknownTurns, "0 was not suppressed")
	require.NotNil(t, s.Participants)
	assert.InDelta(t, 40, *s.Participants, 15)
	assert.NotContains(t, string(line), ":17", "a minute of the start time leaked")
}

// Counts below the minimum group size are always suppressed; counts at or
// above it carry two-sided geometric noise with the stated ε: P(0) =
// (1-α)/(1+α), variance 2α/(1-α)², α = e^-ε.
func TestCountsSuppressedAndNoised(t *testing.T) {
	for _, eps := range []float64{0.5, 1} {
		d := vsync.Deidentifier{Rand: chacha(2), Epsilon: eps, MinGroup: 5}
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		obs := vsync.SessionObservation{Started: start, Stopped: start}
		const n = 20000
		var zero, sum, sq float64
		for range n {
			obs.Participants, obs.Enrolled = 4, 1000
			line, err := d.SessionStats(obs)
			require.NoError(t, err)
			r, err := vsync.DecodeRecord(line)
			require.NoError(t, err)
			require.Nil(t, r.SessionStats.Participants, "4 participants reported: %s", line)
			z := float64(*r.SessionStats.Enrolled - 1000)
			if z == 0 {
				zero++
			}
			sum += z
			sq += z * z
		}
		a := math.Exp(-eps)
		assert.InDelta(t, (1-a)/(1+a), zero/n, 0.02, "ε=%g: P(noise=0)", eps)
		assert.InDelta(t, 0, sum/n, 0.1, "ε=%g: mean noise", eps)
		assert.InDelta(t, 2*a/((1-a)*(1-a)), sq/n, 0.15*2*a/((1-a)*(1-a)), "ε=%g: noise variance", eps)
	}
}

func TestAudioAndHealthRecords(t *testing.T) {
	var d vsync.Deidentifier
	at := time.Date(2026, 5, 1, 10, 59, 59, 0, time.UTC)
	line, err := d.AudioQuality(vsync.AudioObservation{Started: at, Seconds: 601.3, Overflows: 2, RMSDBFS: -23.46})
	require.NoError(t, err)
	r, err := vsync.DecodeRecord(line)
	require.NoError(t, err)
	assert.Equal(t, vsync.AudioQuality{Type: vsync.TypeAudioQuality, Hour: at.Truncate(time.Hour), Minutes: 10, Overflows: 2, RMSDBFS: -23}, *r.AudioQuality)

	line, err = d.DeviceHealth(vsync.HealthObservation{At: at, Version: "v1.2.3 <script>", Uptime: 50 * time.Hour, VaultBytes: 3 << 20, RetentionOK: true})
	require.NoError(t, err)
	r, err = vsync.DecodeRecord(line)
	require.NoError(t, err)
	assert.Equal(t, "unknown", r.DeviceHealth.Version, "a version that is not a plain label is not copied")
	assert.Equal(t, 50, r.DeviceHealth.UptimeHours)
	assert.Equal(t, int64(3), r.DeviceHealth.VaultMiB)

	_, err = d.SessionStats(vsync.SessionObservation{Started: at, Stopped: at.Add(-time.Second)})
	require.ErrorIs(t, err, vsync.ErrDeid)
	_, err = d.DeviceHealth(vsync.HealthObservation{})
	require.ErrorIs(t, err, vsync.ErrDeid)
}

func TestTemplateRecords(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	vecs := make([][]float32, 12)
	for i := range vecs {
		vecs[i] = make([]float32, 64)
		for k := range vecs[i] {
			vecs[i][k] = float32(r.NormFloat64() / 8)
		}
		vecs[i][0] = float32(i) // a marker to find each one again
	}
	_, err := vsync.TemplateRecords("m1", vecs[:9], 10, chacha(3))
	require.ErrorIs(t, err, vsync.ErrTooFewTemplates)

	lines, err := vsync.TemplateRecords("m1", vecs, 10, chacha(3))
	require.NoError(t, err)
	require.Len(t, lines, len(vecs))
	var order []int
	for _, l := range lines {
		rec, err := vsync.DecodeRecord(l)
		require.NoError(t, err)
		tp := rec.Template
		require.NotNil(t, tp)
		assert.Equal(t, vsync.TemplateTransformName, tp.Transform)
		v := tp.Vector()
		i := int(math.Round(float64(v[0])))
		order = append(order, i)
		for k := 1; k < len(v); k++ {
			assert.InDelta(t, vecs[i][k], v[k], tp.Scale/2+1e-7, "value %d of template %d beyond half a step", k, i)
		}
		assert.NotContains(t, string(l), "seconds")
	}
	assert.NotEqual(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, order, "templates kept their order")
	assert.ElementsMatch(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, order)

	vecs[3] = vecs[3][:10]
	_, err = vsync.TemplateRecords("m1", vecs, 10, nil)
	require.ErrorIs(t, err, vsync.ErrDeid)
}

func TestDecodeRecordRefuses(t *testing.T) {
	for _, line := range []string{
		``, `null`, `{}`, `{"type":"nope"}`,
		`{"type":"session_stats","hour":"2026-05-01T10:17:00Z","duration_minutes":1,"participants":null,"enrolled":null,"turns":null,"unknown_turns":null,"interrupted":false}`,
		`{"type":"session_stats","hour":"2026-05-01T10:00:00Z","duration_minutes":1,"participants":null,"enrolled":null,"turns":null,"unknown_turns":null,"interrupted":false,"title":"x"}`,
		`{"type":"template","model":"m","transform":"t","dim":3,"scale":1,"q":"AAA="}`,
		`{"type":"template","model":"m","transform":"t","dim":2,"scale":0,"q":"AAA="}`,
		`{"type":"audio_quality","hour":"2026-05-01T10:00:00Z","minutes":1,"overflows":0,"read_errors":0,"rms_dbfs":0} {}`,
		`{"type":"device_health"` + strings.Repeat(" ", vsync.MaxRecordBytes) + `}`,
	} {
		_, err := vsync.DecodeRecord([]byte(line))
		require.Error(t, err, "DecodeRecord(%.80q) accepted it", line)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	var d vsync.Deidentifier
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	l1, _ := d.SessionStats(vsync.SessionObservation{Started: at, Stopped: at.Add(time.Hour), Participants: 30, Turns: 50})
	l2, _ := d.AudioQuality(vsync.AudioObservation{Started: at, Seconds: 60})
	l3, _ := d.DeviceHealth(vsync.HealthObservation{At: at, Version: "dev"})
	vecs := make([][]float32, 2)
	for i := range vecs {
		vecs[i] = []float32{0.5, -0.25, float32(i)}
	}
	l4, _ := vsync.TemplateRecords("m1", vecs, 1, nil)
	for _, s := range [][]byte{l1, l2, l3, l4[0], []byte(`{"type":"template","dim":1}`)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		r, err := vsync.DecodeRecord(b)
		if err != nil {
			return
		}
		var v any
		switch {
		case r.SessionStats != nil:
			v = r.SessionStats
		case r.AudioQuality != nil:
			v = r.AudioQuality
		case r.DeviceHealth != nil:
			v = r.DeviceHealth
		case r.Template != nil:
			v = r.Template
			_ = r.Template.Vector()
		default:
			t.Fatalf("DecodeRecord(%q) set no record", b)
		}
		again, err := json.Marshal(v)
		require.NoError(t, err)
		r2, err := vsync.DecodeRecord(again)
		require.NoError(t, err, "a decoded record does not decode after encoding: %s", again)
		assert.Equal(t, r, r2)
	})
}
