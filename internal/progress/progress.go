// Package progress draws the offline tools' progress bars on a terminal
// (training, evaluation, benchmarks).
package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Bar draws "[#####.....] k/n what 1.2s" on a writer, redrawn in place at
// most every 100 ms and once more at the last step. A nil *Bar, or one
// with a nil writer, draws nothing. Step is safe for concurrent use.
type Bar struct {
	mu    sync.Mutex
	w     io.Writer
	n, k  int
	what  string
	last  time.Time
	start time.Time
}

// New returns a bar of n steps that names its work what; w nil draws
// nothing.
func New(w io.Writer, n int, what string) *Bar {
	return &Bar{w: w, n: n, what: what, start: time.Now()}
}

// Step counts one step done.
func (p *Bar) Step() {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.k++
	if p.k < p.n && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	const width = 30
	full := width * min(p.k, p.n) / max(p.n, 1)
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d %s %.1fs", strings.Repeat("#", full), strings.Repeat(".", width-full), p.k, p.n, p.what, time.Since(p.start).Seconds())
	if p.k == p.n {
		fmt.Fprintln(p.w)
	}
}
