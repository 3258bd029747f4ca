package vault

import (
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"
)

// TurnStats counts one speaker's turns in a session.
type TurnStats struct {
	Turns   int     `json:"turns"`
	Seconds float64 `json:"seconds"`
}

// Session is a captioned session. Its title and participant list are
// identifiable; each session has its own data key so that purging it is
// destruction.
type Session struct {
	ID           ID        `json:"id"`
	Title        string    `json:"title"`
	Participants []ID      `json:"participants"`
	Started      time.Time `json:"started"`
	Stopped      time.Time `json:"stopped,omitzero"`
	// Interrupted means the program that ran the session ended without
	// stopping it (a crash, kill -9, power loss) and a later start closed
	// it: Stopped is then when it was found open, not when capture ended.
	Interrupted bool                 `json:"interrupted,omitempty"`
	Turns       map[string]TurnStats `json:"turns,omitempty"` // by subject id (hex); "" for unknown voices
}

// LogValue implements slog.LogValuer without title or participants.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", s.ID.String()), slog.Int("participants", len(s.Participants)))
}

func (s *Session) clone() Session {
	c := *s
	c.Participants = slices.Clone(s.Participants)
	if s.Turns != nil {
		c.Turns = make(map[string]TurnStats, len(s.Turns))
		for k, v := range s.Turns {
			c.Turns[k] = v
		}
	}
	return c
}

// CreateSession starts a session. Errors: ErrInvalid, ErrNotFound (a
// participant that is not a subject), ErrFull.
func (s *Store) CreateSession(a Actor, title string, participants []ID) (Session, error) {
	if !textOK(title) || len(participants) > 1024 {
		return Session{}, fmt.Errorf("%w: session title or participants", ErrInvalid)
	}
	ss := Session{ID: NewID(), Title: title, Participants: slices.Clone(participants), Started: s.now().UTC()}
	err := s.audited(a, "session.create", ss.ID.String(), func(t *txn) error {
		for _, p := range participants {
			if t.bucket(kSubject).Get(p[:]) == nil {
				return fmt.Errorf("participant %s: %w", p, ErrNotFound)
			}
		}
		if _, err := t.newDataKey(ss.ID); err != nil {
			return err
		}
		return t.put(kSession, ss.ID[:], &ss)
	})
	return ss.clone(), err
}

// StopSession ends a session and stores its turn statistics.
// Errors: ErrNotFound.
func (s *Store) StopSession(a Actor, id ID, turns map[string]TurnStats) (Session, error) {
	var ss Session
	err := s.audited(a, "session.stop", id.String(), func(t *txn) error {
		if err := t.get(kSession, id[:], &ss); err != nil {
			return err
		}
		ss.Stopped = s.now().UTC()
		ss.Turns = make(map[string]TurnStats, len(turns))
		for k, v := range turns {
			ss.Turns[k] = v
		}
		return t.put(kSession, id[:], &ss)
	})
	return ss.clone(), err
}

// InterruptOpenSessions closes every session that has no stop time:
// what a daemon finds at start-up when the previous run ended without
// stopping its sessions. Each is recorded as stopped now and Interrupted,
// with an audit entry ("session.interrupt"), all in one transaction. It
// may use the reserve of the disk budget, so a full vault can still close
// them. It returns the ids of the sessions it closed, oldest first.
func (s *Store) InterruptOpenSessions(a Actor) ([]ID, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	var closed []ID
	err := s.updateReserved(func(t *txn) error {
		closed = closed[:0]
		all, err := t.sessions()
		if err != nil {
			return err
		}
		now := s.now().UTC()
		for _, ss := range all {
			if !ss.Stopped.IsZero() {
				continue
			}
			ss.Stopped, ss.Interrupted = now, true
			if err := t.put(kSession, ss.ID[:], &ss); err != nil {
				return err
			}
			if err := t.audit(a, "session.interrupt", ss.ID.String(), "ok"); err != nil {
				return err
			}
			closed = append(closed, ss.ID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("vault: close interrupted sessions: %w", err)
	}
	return closed, nil
}

// Session returns one session. Errors: ErrNotFound.
func (s *Store) Session(a Actor, id ID) (Session, error) {
	var ss Session
	err := s.audited(a, "session.read", id.String(), func(t *txn) error {
		return t.get(kSession, id[:], &ss)
	})
	return ss.clone(), err
}

// Sessions returns every session, oldest first.
func (s *Store) Sessions(a Actor) ([]Session, error) {
	var out []Session
	err := s.audited(a, "session.list", "", func(t *txn) error {
		var err error
		out, err = t.sessions()
		return err
	})
	return out, err
}

func (t *txn) sessions() ([]Session, error) {
	var out []Session
	err := t.bucket(kSession).ForEach(func(k, v []byte) error {
		var ss Session
		if err := t.decode(kSession, k, v, &ss); err != nil {
			return err
		}
		out = append(out, ss)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out, err
}

// scrubSessions removes an erased subject from every session.
func (t *txn) scrubSessions(subject ID) (int, error) {
	all, err := t.sessions()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ss := range all {
		i := slices.Index(ss.Participants, subject)
		_, turned := ss.Turns[subject.String()]
		if i < 0 && !turned {
			continue
		}
		if i >= 0 {
			ss.Participants = slices.Delete(ss.Participants, i, i+1)
		}
		delete(ss.Turns, subject.String())
		if err := t.put(kSession, ss.ID[:], &ss); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}
