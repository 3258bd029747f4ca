package vault_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/vault"
)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a state directory with a master key file.
type env struct {
	dir   string
	path  string
	key   vault.KeySource
	clock *fakeClock
}

func newEnv(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	kp := filepath.Join(dir, vault.MasterKeyFile)
	require.NoError(t, vault.CreateKeyFile(kp))
	return &env{dir: dir, path: filepath.Join(dir, vault.VaultFile), key: vault.FileKey(kp), clock: newClock()}
}

func (e *env) opts() *vault.Options {
	return &vault.Options{Key: e.key, Now: e.clock.Now}
}

// open opens the env's vault and verifies it when the test ends.
func (e *env) open(t testing.TB) *vault.Store {
	t.Helper()
	s, err := vault.Open(e.path, e.opts())
	require.NoError(t, err)
	t.Cleanup(func() {
		rep, err := s.Verify()
		if err == nil {
			require.Truef(t, rep.OK(), "vault does not verify at cleanup: %v", rep.Problems)
		}
		require.NoError(t, s.Close())
	})
	return s
}

// openVault is newEnv + open.
func openVault(t testing.TB) (*vault.Store, *env) {
	e := newEnv(t)
	return e.open(t), e
}

var tech = vault.Actor{TokenID: "tok-tech", Role: "technician", Purpose: "recognition"}

func consent() vault.Consent {
	return vault.Consent{
		Kind:              vault.ConsentGrant,
		DisclosureVersion: "2026-01",
		DisclosureSHA256:  strings.Repeat("ab", 32),
		Purposes:          []vault.Purpose{vault.PurposeRecognition},
		RetentionStated:   "30 days",
		Signature:         "Jane Q. Speaker",
		TechnicianTokenID: "tok-tech",
	}
}

func embedding(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// enrol creates a subject with one template.
func enrol(t testing.TB, s *vault.Store, name string, emb []float32) (vault.Subject, vault.Template) {
	t.Helper()
	sub, tok, err := s.CreateSubject(tech, vault.NewSubject{DisplayName: name, Contact: name + "@example.org", Consent: consent()})
	require.NoError(t, err)
	require.NotEmpty(t, string(tok))
	tpl, err := s.AddTemplate(tech, sub.ID, vault.Template{Embedding: emb, ModelID: "ecapa-test-v1", Quality: map[string]float64{"snr_db": 21}})
	require.NoError(t, err)
	return sub, tpl
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
