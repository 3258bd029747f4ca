package eval

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// A score file holds one system's score of every trial of a list, so that
// another run can compare its own scores with them trial by trial
// (Result.Compare): the trial list's lines with the score after the label,
// "LABEL SCORE ENROLL TEST", after the comments "# system NAME", naming the
// system, and "# condition TEXT", what the trials were scored in (the
// channel, say). voxward eval writes it with --scores and reads it with
// --against.

// scoresFormat names a score file's fields.
const scoresFormat = "LABEL SCORE ENROLL TEST"

// ScoreFile is one system's scores of a trial list, in the list's order,
// and the condition they were scored in (free text of one line).
type ScoreFile struct {
	System    string
	Condition string
	Trials    []Trial
	Scores    []float64
}

// Write writes sf as a score file. Scores are written exactly (the
// shortest decimal that reads back as the same float64). The system name
// is one word; the condition is one line.
func (sf *ScoreFile) Write(w io.Writer) error {
	if len(sf.Trials) != len(sf.Scores) {
		return fmt.Errorf("eval: %d trials, %d scores", len(sf.Trials), len(sf.Scores))
	}
	if sf.System == "" || strings.ContainsFunc(sf.System, unicode.IsSpace) {
		return fmt.Errorf("eval: system name %q is not one word", sf.System)
	}
	if strings.Contains(sf.Condition, "\n") {
		return fmt.Errorf("eval: condition %q is not one line", sf.Condition)
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# voxward eval scores: %s\n# system %s\n", scoresFormat, sf.System)
	if c := strings.TrimSpace(sf.Condition); c != "" {
		fmt.Fprintf(bw, "# condition %s\n", c)
	}
	for i, t := range sf.Trials {
		label := "0"
		if t.Target {
			label = "1"
		}
		fmt.Fprintf(bw, "%s %s %s %s\n", label, strconv.FormatFloat(sf.Scores[i], 'g', -1, 64), strings.Join(t.Enroll, ","), t.Test)
	}
	return bw.Flush()
}

// ParseScores reads a score file (ScoreFile.Write): the last condition
// line counts, and a second system line must name the same system; blank
// lines and other comments are skipped; a score must be a finite number.
// Errors wrap ErrBadTrials and name the line.
func ParseScores(r io.Reader) (*ScoreFile, error) {
	var out ScoreFile
	comment := func(c string) error {
		f := strings.Fields(c)
		switch {
		case len(f) > 0 && f[0] == "condition":
			out.Condition = strings.TrimSpace(strings.TrimPrefix(c, "condition"))
			return nil
		case len(f) == 0 || f[0] != "system":
			return nil
		case len(f) != 2:
			return fmt.Errorf("system name %q is not one word", strings.Join(f[1:], " "))
		}
		name := f[1]
		if out.System != "" && out.System != name {
			return fmt.Errorf("a second system, %q after %q", name, out.System)
		}
		out.System = name
		return nil
	}
	err := parseLines(r, scoresFormat, comment, func(f []string) error {
		s, err := strconv.ParseFloat(f[1], 64)
		if err != nil || math.IsInf(s, 0) || math.IsNaN(s) {
			return fmt.Errorf("score %q is not a finite number", f[1])
		}
		t, err := parseTrial(f[0], f[2], f[3])
		out.Trials, out.Scores = append(out.Trials, t), append(out.Scores, s)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ReadScores reads the score file at path (ParseScores); a file without a
// system line is named by its base name. Errors name the file.
func ReadScores(path string) (*ScoreFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open score file: %w", err)
	}
	defer f.Close()
	sf, err := ParseScores(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if sf.System == "" {
		sf.System = filepath.Base(path)
	}
	return sf, nil
}

// ErrOtherTrials means a score file holds other trials than the run it is
// compared with.
var ErrOtherTrials = errors.New("not the same trials")

// Matches returns nil when sf holds scores of trials, line for line, and
// otherwise an error wrapping ErrOtherTrials that names the first trial
// that differs.
func (sf *ScoreFile) Matches(trials []Trial) error {
	if len(sf.Trials) != len(trials) {
		return fmt.Errorf("%w: %s scored %d trials, this run %d", ErrOtherTrials, sf.System, len(sf.Trials), len(trials))
	}
	for i, t := range trials {
		o := sf.Trials[i]
		if o.Target != t.Target || o.Test != t.Test || !slices.Equal(o.Enroll, t.Enroll) {
			return fmt.Errorf("%w: trial %d is %s against %s in %s's scores, %s against %s here",
				ErrOtherTrials, i+1, strings.Join(o.Enroll, ","), o.Test, sf.System, strings.Join(t.Enroll, ","), t.Test)
		}
	}
	return nil
}

// Comparison is how a result's EER compares with another system's on the
// same trials (Result.Compare). EERDiff is the result's EER less the
// other's: below zero, the result's is lower. With at least five speakers,
// EERDiffCI90 is its 90 % confidence interval and LowerEERRounds the
// fraction of rounds in which the result's EER was the lower one, from
// the speaker bootstrap the result's own intervals come from, both
// systems' EERs taken in each round on the same draw of speakers (a
// paired bootstrap: what the two systems share, the voices, does not
// widen the interval of their difference).
type Comparison struct {
	System         string    `json:"system"`
	EER            float64   `json:"eer"`
	EERDiff        float64   `json:"eer_diff"`
	EERDiffCI90    *Interval `json:"eer_diff_ci90,omitempty"`
	LowerEERRounds *float64  `json:"lower_eer_rounds,omitempty"`
}

// Compare adds to r.Against the comparison of its EER with other's, whose
// trials must be trials, the list r was scored on, line for line
// (ScoreFile.Matches).
func (r *Result) Compare(trials []Trial, other *ScoreFile) error {
	if len(trials) != len(r.scores) {
		return fmt.Errorf("eval: %d trials for a result of %d", len(trials), len(r.scores))
	}
	if err := other.Matches(trials); err != nil {
		return err
	}
	var tgt, non []float64
	for i, s := range other.Scores {
		if r.targets[i] {
			tgt = append(tgt, s)
		} else {
			non = append(non, s)
		}
	}
	eer, _, err := EER(tgt, non)
	if err != nil {
		return err
	}
	c := Comparison{System: other.System, EER: eer, EERDiff: r.EER - eer}
	if r.boot != nil {
		mine, theirs := weightedEER(r.targets, r.scores), weightedEER(r.targets, other.Scores)
		var diffs []float64
		var lower, rounds int
		r.boot.Rounds(func(w []float64) {
			a, okA := mine(w)
			b, okB := theirs(w)
			if !okA || !okB {
				return
			}
			rounds++
			diffs = append(diffs, a-b)
			if a < b {
				lower++
			}
		})
		if iv, ok := interval(diffs); ok {
			frac := float64(lower) / float64(rounds)
			c.EERDiffCI90, c.LowerEERRounds = &iv, &frac
		}
	}
	r.Against = append(r.Against, c)
	return nil
}
