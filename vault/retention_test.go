package vault_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/vault"
)

var system = vault.SystemActor

const (
	day   = 24 * time.Hour
	years = 3 * 365 * day
)

// TestRetentionThreeYears moves the clock three years and more in
// six-hour steps, running retention at each step as the daemon would, and
// checks every deadline: identifiable data is gone exactly from 30 days
// after enrolment, de-identified templates exactly from three years after
// their frozen last interaction, sessions after their window, and nothing
// goes early.
func TestRetentionThreeYears(t *testing.T) {
	s, e := openVault(t)
	pol := vault.RetentionPolicy{Identifiable: 30 * day, Deidentified: years, Sessions: 14 * day}
	r := rand.New(rand.NewPCG(21, 22))
	start := e.clock.Now()

	type subj struct {
		id        vault.ID
		created   time.Time
		last      time.Time
		research  bool
		withdrawn bool
		token     vault.DeletionToken
	}
	var subs []*subj
	type sess struct {
		id      vault.ID
		started time.Time
	}
	var sessions []sess
	const step = 6 * time.Hour
	end := start.Add(years + 120*day)
	for now := start; !now.After(end); now = now.Add(step) {
		e.clock.Add(now.Sub(e.clock.Now()))
		i := int(now.Sub(start) / step)
		// During the first 60 days enrol someone every 5 days, let some
		// be recognised later, one withdraw, and run a session a week.
		if now.Sub(start) < 60*day && i%20 == 0 {
			c := consent()
			research := len(subs)%2 == 0
			if research {
				c.Purposes = []vault.Purpose{vault.PurposeRecognition, vault.PurposeResearch}
			}
			sub, tok, err := s.CreateSubject(tech, vault.NewSubject{DisplayName: "S", Consent: c})
			require.NoError(t, err)
			_, err = s.AddTemplate(tech, sub.ID, vault.Template{Embedding: embedding(r, 16), ModelID: "m"})
			require.NoError(t, err)
			subs = append(subs, &subj{id: sub.ID, created: now, last: now, research: research, token: tok})
		}
		if now.Sub(start) < 60*day && i%28 == 3 {
			ss, err := s.CreateSession(tech, "weekly", nil)
			require.NoError(t, err)
			sessions = append(sessions, sess{ss.ID, now})
		}
		for k, sb := range subs {
			if k%3 == 1 && !sb.withdrawn && now.Sub(sb.created) == 10*day+6*time.Hour {
				require.NoError(t, s.RecordInteraction(tech, sb.id, now))
				sb.last = now
			}
			if k == 4 && now.Sub(sb.created) == 2*day {
				_, err := s.SetStatus(tech, sb.id, vault.StatusWithdrawn)
				require.NoError(t, err)
				sb.withdrawn = true
			}
		}

		rep, err := s.ApplyRetention(system, pol)
		require.NoError(t, err)
		assert.LessOrEqual(t, rep.Late, step, "a deadline was missed by more than one step")
		again, err := s.ApplyRetention(system, pol)
		require.NoError(t, err)
		require.Equal(t, vault.RetentionReport{}, again, "retention is not idempotent at %v", now)

		// The model of what must be there.
		wantSubj, wantDeid := 0, 0
		for _, sb := range subs {
			switch {
			case sb.withdrawn:
			case now.Before(sb.created.Add(pol.Identifiable)):
				wantSubj++
			case now.Before(sb.last.UTC().Truncate(day).Add(pol.Deidentified)):
				wantDeid++
			}
		}
		wantSess := 0
		for _, ss := range sessions {
			if now.Before(ss.started.Add(pol.Sessions)) {
				wantSess++
			}
		}
		st, err := s.Stats()
		require.NoError(t, err)
		require.Equalf(t, wantSubj, st.Records["subject"], "subjects at %v", now)
		require.Equalf(t, wantSubj, st.Records["template"], "templates at %v", now)
		require.Equalf(t, wantSubj, st.Records["consent"], "consents at %v", now)
		require.Equalf(t, wantDeid, st.Records["deidentified template"], "de-identified templates at %v", now)
		require.Equalf(t, wantSess, st.Records["session"], "sessions at %v", now)
		// No orphan keys: subjects + de-identified + sessions + system.
		require.Equal(t, wantSubj+wantDeid+wantSess+1, st.DataKeys)

		// Midway, check what a de-identified template keeps.
		if now.Equal(start.Add(200 * day)) {
			ds, err := s.DeidTemplates(system)
			require.NoError(t, err)
			require.Len(t, ds, wantDeid)
			research := 0
			for _, d := range ds {
				assert.Equal(t, d.LastInteraction, d.LastInteraction.Truncate(day))
				if d.Research {
					research++
				}
			}
			want := 0
			for _, sb := range subs {
				if !sb.withdrawn && sb.research {
					want++
				}
			}
			assert.Equal(t, want, research)
			// A subject's deletion token still reaches its template.
			rc, err := s.EraseDeidentifiedByToken(system, subs[0].token)
			require.NoError(t, err)
			assert.Equal(t, 1, rc.Erased["deidentified template"])
			subs[0].withdrawn = true // gone for the model from now on
			_, err = s.EraseDeidentifiedByToken(system, subs[0].token)
			require.ErrorIs(t, err, vault.ErrNotFound)
		}
	}
	st, err := s.Stats()
	require.NoError(t, err)
	assert.Zero(t, st.Records["subject"]+st.Records["deidentified template"]+st.Records["session"])
	assert.GreaterOrEqual(t, len(subs), 12)
	rep, err := s.Verify()
	require.NoError(t, err)
	require.True(t, rep.OK(), rep.Problems)
}

func TestRetentionRefusesLongerIdentifiableWindow(t *testing.T) {
	s, _ := openVault(t)
	_, err := s.ApplyRetention(system, vault.RetentionPolicy{Identifiable: 31 * day})
	require.ErrorIs(t, err, vault.ErrInvalid)
}
