package eval

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// ErrBadTrials means a trial list is malformed.
var ErrBadTrials = errors.New("malformed trial list")

// Limits on trial lists, so that a hostile file cannot exhaust memory.
const (
	maxTrialLine   = 64 << 10
	maxTrials      = 10_000_000
	maxEnrolFiles  = 1000
	maxTrialFields = 3
)

// Trial is one line of a trial list: whether it is a same-speaker trial,
// the files enrolled together as one voiceprint, and the test file. Paths
// are as written, relative to the list's audio root.
type Trial struct {
	Target bool
	Enroll []string
	Test   string
}

// ReadTrials reads the trial list in the file path (ParseTrials). Errors
// name the file.
func ReadTrials(path string) ([]Trial, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open trial list: %w", err)
	}
	defer f.Close()
	trials, err := ParseTrials(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return trials, nil
}

// ParseTrials reads a trial list: one trial a line, "LABEL ENROLL TEST",
// LABEL 1 (same speaker) or 0, ENROLL one path or several joined by
// commas, TEST one path, separated by blanks; blank lines and lines
// starting with '#' are skipped. Errors wrap ErrBadTrials and name the
// line.
func ParseTrials(r io.Reader) ([]Trial, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxTrialLine)
	var out []Trial
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		if len(f) != maxTrialFields {
			return nil, fmt.Errorf("%w: line %d: want 3 fields (LABEL ENROLL TEST), got %d", ErrBadTrials, line, len(f))
		}
		var t Trial
		switch f[0] {
		case "1":
			t.Target = true
		case "0":
		default:
			return nil, fmt.Errorf("%w: line %d: label %q is neither 1 nor 0", ErrBadTrials, line, f[0])
		}
		t.Enroll = strings.Split(f[1], ",")
		if len(t.Enroll) > maxEnrolFiles {
			return nil, fmt.Errorf("%w: line %d: more than %d enrolment files", ErrBadTrials, line, maxEnrolFiles)
		}
		for _, p := range t.Enroll {
			if p == "" {
				return nil, fmt.Errorf("%w: line %d: empty enrolment path", ErrBadTrials, line)
			}
		}
		t.Test = f[2]
		if len(out) >= maxTrials {
			return nil, fmt.Errorf("%w: more than %d trials", ErrBadTrials, maxTrials)
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadTrials, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no trials", ErrBadTrials)
	}
	return out, nil
}
