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
	maxTrialLine  = 64 << 10
	maxTrials     = 10_000_000
	maxEnrolFiles = 1000
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
	var out []Trial
	err := parseLines(r, "LABEL ENROLL TEST", nil, func(f []string) error {
		t, err := parseTrial(f[0], f[1], f[2])
		out = append(out, t)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseLines calls line with the blank-separated fields of every line of
// r that is neither blank nor a comment (as many as format names), and
// comment, unless nil, with the text of every comment line after its '#',
// stopping at the first error. It bounds line length and count. Errors
// wrap ErrBadTrials and name the line; a reader without trial lines is
// an error too.
func parseLines(r io.Reader, format string, comment func(string) error, line func(fields []string) error) error {
	want := len(strings.Fields(format))
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxTrialLine)
	n := 0
	for no := 1; sc.Scan(); no++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if c, ok := strings.CutPrefix(text, "#"); ok {
			if comment == nil {
				continue
			}
			if err := comment(strings.TrimSpace(c)); err != nil {
				return fmt.Errorf("%w: line %d: %w", ErrBadTrials, no, err)
			}
			continue
		}
		f := strings.Fields(text)
		if len(f) != want {
			return fmt.Errorf("%w: line %d: want %d fields (%s), got %d", ErrBadTrials, no, want, format, len(f))
		}
		if n++; n > maxTrials {
			return fmt.Errorf("%w: more than %d trials", ErrBadTrials, maxTrials)
		}
		if err := line(f); err != nil {
			return fmt.Errorf("%w: line %d: %w", ErrBadTrials, no, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadTrials, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: no trials", ErrBadTrials)
	}
	return nil
}

// parseTrial reads a trial's three fields.
func parseTrial(label, enroll, test string) (Trial, error) {
	var t Trial
	switch label {
	case "1":
		t.Target = true
	case "0":
	default:
		return t, fmt.Errorf("label %q is neither 1 nor 0", label)
	}
	t.Enroll = strings.Split(enroll, ",")
	if len(t.Enroll) > maxEnrolFiles {
		return t, fmt.Errorf("more than %d enrolment files", maxEnrolFiles)
	}
	for _, p := range t.Enroll {
		if p == "" {
			return t, errors.New("empty enrolment path")
		}
	}
	t.Test = test
	return t, nil
}
