package vault_test

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/vault"
)

// TestConcurrentUse runs writers, readers, erasures, key rotations and a
// compaction at once (run it under -race); the vault must verify after.
func TestConcurrentUse(t *testing.T) {
	s, _ := openVault(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	ids := make(chan vault.ID, 256)
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 99))
			for range 15 {
				sub, _, err := s.CreateSubject(tech, vault.NewSubject{DisplayName: "C", Consent: consent()})
				if err != nil {
					errs <- err
					return
				}
				if _, err := s.AddTemplate(tech, sub.ID, vault.Template{Embedding: embedding(r, 32), ModelID: "m"}); err != nil {
					errs <- err
					return
				}
				if _, err := s.MatchTemplates(tech); err != nil {
					errs <- err
					return
				}
				ids <- sub.ID
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 10 {
			id := <-ids
			if _, err := s.EraseSubject(admin, id); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 3 {
			if _, err := s.RotateKey(admin); err != nil {
				errs <- err
				return
			}
			if _, _, err := s.Compact(); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	require.NoError(t, errors.Join(all...))
	st, err := s.Stats()
	require.NoError(t, err)
	require.Equal(t, 35, st.Records["subject"])
}
