package vault_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/vault"
)

// TestInterruptOpenSessions: the sessions a crash left open are closed as
// interrupted at the time they were found, each audited; stopped ones are
// left alone, and a second call finds nothing.
func TestInterruptOpenSessions(t *testing.T) {
	s, e := openVault(t)
	open1, err := s.CreateSession(tech, "a", nil)
	require.NoError(t, err)
	done, err := s.CreateSession(tech, "b", nil)
	require.NoError(t, err)
	done, err = s.StopSession(tech, done.ID, nil)
	require.NoError(t, err)
	e.clock.Add(time.Minute)
	open2, err := s.CreateSession(tech, "c", nil)
	require.NoError(t, err)

	e.clock.Add(time.Hour) // the daemon restarts an hour later
	closed, err := s.InterruptOpenSessions(vault.SystemActor)
	require.NoError(t, err)
	assert.Equal(t, []vault.ID{open1.ID, open2.ID}, closed)

	all, err := s.Sessions(tech)
	require.NoError(t, err)
	require.Len(t, all, 3)
	for _, ss := range all {
		if ss.ID == done.ID {
			assert.Equal(t, done.Stopped, ss.Stopped, "a stopped session changed")
			assert.False(t, ss.Interrupted)
			continue
		}
		assert.Equal(t, e.clock.Now(), ss.Stopped, "InterruptOpenSessions stop time")
		assert.True(t, ss.Interrupted)
	}
	es, err := s.AuditEntries(0, 0)
	require.NoError(t, err)
	var audited []string
	for _, en := range es {
		if en.Action == "session.interrupt" {
			audited = append(audited, en.RecordID)
			assert.Equal(t, vault.SystemActor.TokenID, en.Actor)
		}
	}
	assert.ElementsMatch(t, []string{open1.ID.String(), open2.ID.String()}, audited)

	closed, err = s.InterruptOpenSessions(vault.SystemActor)
	require.NoError(t, err)
	assert.Empty(t, closed)
}
