package agent_test

import (
	"bytes"
	"encoding/binary"
	"io/fs"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/agent"
	"github.com/voxward/voxward/capture"
	"github.com/voxward/voxward/vault"
)

// PRIVACY.md rules 1 and 12: a live session's audio, and anything derived
// from it, lives in memory only. A session plays a file of seeded noise
// (so that every 8-sample run is unique) through the whole pipeline; then
// the state directory and the temporary directory are scanned for any
// 8-sample run of it, as 16-bit PCM or as float32 on either scale. The
// test fails if any code path wrote audio to disk.
func TestLiveSessionWritesNoAudio(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // os.TempDir for the daemon's whole life
	st := newState(t)

	// The source file lives outside both scanned directories.
	src := filepath.Join(t.TempDir(), "noise.wav")
	r := rand.New(rand.NewPCG(7, 11))
	x := make([]float32, 2*capture.SampleRate)
	for i := range x {
		x[i] = float32(math.Round(r.NormFloat64() * 3000))
	}
	f, err := os.Create(src)
	require.NoError(t, err)
	w, err := capture.NewWAVWriter(f, capture.SampleRate)
	require.NoError(t, err)
	require.NoError(t, w.Write(x))
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())

	cfg := st.config()
	cfg.Source = "wav:" + src + "?fast=1"
	speaker := st.consenting(t)
	d := start(t, cfg)
	tech := st.tokens[vault.RoleTechnician]
	resp := d.do(t, "POST", "/v1/sessions", tech, sessionBody(t, "scan", speaker))
	require.Equal(t, http.StatusCreated, resp.code, "%s", resp.body)
	var sr agent.SessionResponse
	resp.json(t, &sr)
	require.Eventually(t, func() bool { return d.status(t, tech).Pipeline.Samples >= uint64(len(x)) },
		waitFor, tick, "the pipeline did not consume the file")
	resp = d.do(t, "POST", "/v1/sessions/"+sr.SessionID+"/stop", tech, "")
	require.Equal(t, http.StatusOK, resp.code, "%s", resp.body)
	require.NoError(t, d.stop(t))

	// Every 8-sample window, in the encodings a careless writer would use.
	const run = 8
	needles := map[string]bool{}
	for i := 0; i+run <= len(x); i += run / 2 {
		var pcm, f32, f32unit bytes.Buffer
		for _, v := range x[i : i+run] {
			binary.Write(&pcm, binary.LittleEndian, int16(v))
			binary.Write(&f32, binary.LittleEndian, v)
			binary.Write(&f32unit, binary.LittleEndian, v/32768)
		}
		needles[pcm.String()], needles[f32.String()], needles[f32unit.String()] = true, true, true
	}
	scanned := scanFiles(t, []string{st.dir, tmp}, func(p string, b []byte) {
		// Windows start every 2 bytes (int16 alignment); compare each
		// candidate of every needle length.
		for _, n := range []int{2 * run, 4 * run} {
			for off := 0; off+n <= len(b); off += 2 {
				if needles[string(b[off:off+n])] {
					t.Fatalf("%s holds %d bytes of the session's audio at offset %d", p, n, off)
				}
			}
		}
	})
	require.Positive(t, scanned, "nothing scanned: the state directory is empty")
}

// scanFiles calls check with the path and bytes of every file under dirs
// and returns how many it read.
func scanFiles(t *testing.T, dirs []string, check func(path string, b []byte)) int {
	t.Helper()
	n := 0
	for _, dir := range dirs {
		require.NoError(t, filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			n++
			check(p, b)
			return nil
		}))
	}
	return n
}

// Polling bounds for conditions the daemon reaches on its own (real time).
const (
	waitFor = 10 * time.Second
	tick    = 10 * time.Millisecond
)
