package eval

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
)

// DET plot: miss rate against false-accept rate, both on a normal
// deviate (probit) scale from 0.1 % to 50 %, as NIST draws them.

var detTicks = []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5}

const (
	detLo, detHi = 0.001, 0.5
	detSize      = 480
	detMargin    = 60
)

// probit is the inverse of the standard normal CDF.
func probit(p float64) float64 { return -math.Sqrt2 * math.Erfcinv(2*p) }

// detXY maps a (P_fa, P_miss) pair to plot pixels, clamped to the axes.
func detXY(pfa, pmiss float64) (float64, float64) {
	lo, hi := probit(detLo), probit(detHi)
	f := func(p float64) float64 {
		p = math.Min(math.Max(p, detLo), detHi)
		return (probit(p) - lo) / (hi - lo) * detSize
	}
	return detMargin + f(pfa), detMargin + detSize - f(pmiss)
}

// PlotDET draws the DET curve of the scores as an SVG image (with title)
// or, with png true, as a PNG image. It returns ErrNoTrials without both
// kinds of scores.
func PlotDET(targets, nontargets []float64, title string, png bool) ([]byte, error) {
	pts, err := DetectionCurve(targets, nontargets)
	if err != nil {
		return nil, err
	}
	if png {
		return detPNG(pts)
	}
	return detSVG(pts, title), nil
}

func pct(p float64) string {
	s := fmt.Sprintf("%g", 100*p)
	return s
}

func detSVG(pts []DETPoint, title string) []byte {
	var w bytes.Buffer
	full := detSize + 2*detMargin
	fmt.Fprintf(&w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", full, full, full, full)
	fmt.Fprintf(&w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	for _, t := range detTicks {
		x, _ := detXY(t, detLo)
		_, y := detXY(detLo, t)
		fmt.Fprintf(&w, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", x, detMargin, x, detMargin+detSize)
		fmt.Fprintf(&w, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", detMargin, y, detMargin+detSize, y)
		fmt.Fprintf(&w, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x, detMargin+detSize+15, pct(t))
		fmt.Fprintf(&w, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", detMargin-5, y, pct(t))
	}
	fmt.Fprintf(&w, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="black"/>`+"\n", detMargin, detMargin, detSize, detSize)
	x0, y0 := detXY(detLo, detLo)
	x1, y1 := detXY(detHi, detHi)
	fmt.Fprintf(&w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#aaa" stroke-dasharray="4 4"/>`+"\n", x0, y0, x1, y1)
	var path strings.Builder
	for i, p := range pts {
		x, y := detXY(p.PFA, p.PMiss)
		if i == 0 {
			fmt.Fprintf(&path, "M%.1f %.1f", x, y)
		} else {
			fmt.Fprintf(&path, " L%.1f %.1f", x, y)
		}
	}
	fmt.Fprintf(&w, `<path d="%s" fill="none" stroke="#c00" stroke-width="2"/>`+"\n", path.String())
	fmt.Fprintf(&w, `<text x="%d" y="%d" text-anchor="middle">false-accept rate (%%)</text>`+"\n", full/2, full-15)
	fmt.Fprintf(&w, `<text x="15" y="%d" text-anchor="middle" transform="rotate(-90 15 %d)">miss rate (%%)</text>`+"\n", full/2, full/2)
	fmt.Fprintf(&w, `<text x="%d" y="30" text-anchor="middle" font-size="14">%s</text>`+"\n", full/2, xmlEscape(title))
	w.WriteString("</svg>\n")
	return w.Bytes()
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// detPNG rasterises the curve, the grid and the frame (no text: the SVG
// is the annotated form).
func detPNG(pts []DETPoint) ([]byte, error) {
	full := detSize + 2*detMargin
	img := image.NewRGBA(image.Rect(0, 0, full, full))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	line := func(x0, y0, x1, y1 float64, c color.RGBA, thick int) {
		n := int(math.Max(math.Abs(x1-x0), math.Abs(y1-y0))) + 1
		for i := 0; i <= n; i++ {
			x := x0 + (x1-x0)*float64(i)/float64(n)
			y := y0 + (y1-y0)*float64(i)/float64(n)
			for dx := 0; dx < thick; dx++ {
				for dy := 0; dy < thick; dy++ {
					img.SetRGBA(int(x)+dx, int(y)+dy, c)
				}
			}
		}
	}
	grid, black, red := color.RGBA{221, 221, 221, 255}, color.RGBA{0, 0, 0, 255}, color.RGBA{204, 0, 0, 255}
	for _, t := range detTicks {
		x, _ := detXY(t, detLo)
		_, y := detXY(detLo, t)
		line(x, detMargin, x, detMargin+detSize, grid, 1)
		line(detMargin, y, detMargin+detSize, y, grid, 1)
	}
	m, s := float64(detMargin), float64(detSize)
	line(m, m, m+s, m, black, 1)
	line(m, m+s, m+s, m+s, black, 1)
	line(m, m, m, m+s, black, 1)
	line(m+s, m, m+s, m+s, black, 1)
	for i := 1; i < len(pts); i++ {
		xa, ya := detXY(pts[i-1].PFA, pts[i-1].PMiss)
		xb, yb := detXY(pts[i].PFA, pts[i].PMiss)
		line(xa, ya, xb, yb, red, 2)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("encode DET plot: %w", err)
	}
	return b.Bytes(), nil
}
