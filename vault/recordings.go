package vault

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Recording is raw enrolment audio. It is stored as a sealed header and
// the audio in sealed chunks of chunkSize bytes, so that no bbolt page
// holds more than a piece of it: erasing one recording then never has to
// copy its neighbours' audio, and a full vault can always erase.
type Recording struct {
	ID         ID        `json:"id"`
	SubjectID  ID        `json:"subject_id"`
	Format     string    `json:"format"` // "wav", "pcm_s16le", ...
	SampleRate int       `json:"sample_rate"`
	Bytes      int       `json:"bytes"`
	Chunks     int       `json:"chunks"`
	Created    time.Time `json:"created"`
	Audio      []byte    `json:"-"`
}

// LogValue implements slog.LogValuer without the audio.
func (r Recording) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", r.ID.String()), slog.Int("bytes", r.Bytes))
}

func (r *Recording) check() error {
	if r.Bytes < 0 || r.Bytes > MaxAudioBytes || r.Chunks != (r.Bytes+chunkSize-1)/chunkSize {
		return errors.New("bad recording size")
	}
	return nil
}

// chunkSize keeps two sealed chunks to a 4 KiB page.
const chunkSize = 1900

func chunkKey(subject, rec ID, i int) []byte {
	return binary.BigEndian.AppendUint32(pairKey(subject, rec), uint32(i))
}

// AddRecording stores raw enrolment audio for an active subject (copied).
// Errors: ErrNotFound, ErrInvalid, ErrFull.
func (s *Store) AddRecording(a Actor, subject ID, r Recording) (Recording, error) {
	if len(r.Audio) == 0 || len(r.Audio) > MaxAudioBytes || !textOK(r.Format) || r.SampleRate < 0 {
		return Recording{}, fmt.Errorf("%w: recording", ErrInvalid)
	}
	r.ID, r.SubjectID, r.Created = NewID(), subject, s.now().UTC()
	r.Bytes, r.Chunks = len(r.Audio), (len(r.Audio)+chunkSize-1)/chunkSize
	err := s.audited(a, "recording.add", r.ID.String(), func(t *txn) error {
		sub, err := t.subject(subject)
		if err != nil {
			return err
		}
		if sub.Status != StatusActive {
			return fmt.Errorf("%w: subject is %s", ErrInvalid, sub.Status)
		}
		if err := t.put(kRecording, pairKey(subject, r.ID), &r); err != nil {
			return err
		}
		for i := 0; i < r.Chunks; i++ {
			end := min((i+1)*chunkSize, len(r.Audio))
			if err := t.putRaw(kRecChunk, chunkKey(subject, r.ID, i), r.Audio[i*chunkSize:end]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Recording{}, err
	}
	r.Audio = nil
	return r, nil
}

// Recording returns one recording with its audio (a copy).
// Errors: ErrNotFound, ErrCorrupt (a chunk missing or altered).
func (s *Store) Recording(a Actor, subject, id ID) (Recording, error) {
	var r Recording
	err := s.audited(a, "recording.read", id.String(), func(t *txn) error {
		var err error
		r, err = t.recording(pairKey(subject, id), true)
		return err
	})
	return r, err
}

// recording reads a recording's header and, if asked, its audio.
func (t *txn) recording(key []byte, withAudio bool) (Recording, error) {
	var r Recording
	if err := t.get(kRecording, key, &r); err != nil {
		return r, err
	}
	if !withAudio {
		return r, nil
	}
	audio := make([]byte, 0, r.Bytes)
	prefix := key[:32]
	c := t.bucket(kRecChunk).Cursor()
	i := 0
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != 36 || binary.BigEndian.Uint32(k[32:]) != uint32(i) {
			zero(audio)
			return Recording{}, &RecordError{Kind: kRecChunk.name, ID: recordName(k), Err: ErrCorrupt}
		}
		pt, err := t.openRaw(kRecChunk, k, v)
		if err != nil {
			zero(audio)
			return Recording{}, err
		}
		audio = append(audio, pt...)
		zero(pt)
		i++
	}
	if i != r.Chunks || len(audio) != r.Bytes {
		zero(audio)
		return Recording{}, &RecordError{Kind: kRecording.name, ID: r.ID.String(), Err: fmt.Errorf("%w: %d of %d chunks", ErrCorrupt, i, r.Chunks)}
	}
	r.Audio = audio
	return r, nil
}

func (t *txn) recordings(subject ID, withAudio bool) ([]Recording, error) {
	var keys [][]byte
	if err := t.scanPrefix(kRecording, subject, func(k, _ []byte) error {
		keys = append(keys, bytes.Clone(k))
		return nil
	}); err != nil {
		return nil, err
	}
	var out []Recording
	for _, k := range keys {
		r, err := t.recording(k, withAudio)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
