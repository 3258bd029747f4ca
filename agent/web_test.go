package agent_test

import (
	"bufio"
	"math"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/agent"
)

// webPaths are the page's files as the daemon serves them, with their
// media types.
var webPaths = map[string]string{
	"/":                  "text/html; charset=utf-8",
	"/web/voxward.css":   "text/css; charset=utf-8",
	"/web/api.js":        "text/javascript; charset=utf-8",
	"/web/app.js":        "text/javascript; charset=utf-8",
	"/web/kiosk.js":      "text/javascript; charset=utf-8",
	"/web/technician.js": "text/javascript; charset=utf-8",
}

// The page and its assets are served without a token, with the security
// headers, behind the same Host and Origin checks as the API; nothing
// else under / is served.
func TestWebPageHeaders(t *testing.T) {
	st := newState(t)
	d := start(t, st.config())
	for path, ctype := range webPaths {
		r := d.do(t, "GET", path, "", "")
		require.Equal(t, http.StatusOK, r.code, "GET %s: %s", path, r.body)
		assert.Equal(t, ctype, r.hdr.Get("Content-Type"), path)
		assert.Equal(t, agent.WebCSP, r.hdr.Get("Content-Security-Policy"), path)
		assert.Equal(t, "DENY", r.hdr.Get("X-Frame-Options"), path)
		assert.Equal(t, "nosniff", r.hdr.Get("X-Content-Type-Options"), path)
		assert.Equal(t, "no-referrer", r.hdr.Get("Referrer-Policy"), path)
		assert.NotEmpty(t, r.body, path)
		h := d.do(t, "HEAD", path, "", "")
		assert.Equal(t, http.StatusOK, h.code, "HEAD %s", path)
		assert.Empty(t, h.body, "HEAD %s", path)
	}
	for _, p := range []string{"frame-ancestors 'none'", "script-src 'self'", "default-src 'self'", "base-uri 'none'", "form-action 'self'"} {
		assert.Contains(t, agent.WebCSP, p)
	}
	assert.NotContains(t, agent.WebCSP, "unsafe")

	for _, tc := range []struct {
		name, method, path string
		hdr                []string
		want               int
	}{
		{"rebound host", "GET", "/", []string{"Host", "attacker.example"}, http.StatusMisdirectedRequest},
		{"foreign origin", "GET", "/web/app.js", []string{"Origin", "http://attacker.example"}, http.StatusForbidden},
		{"cross-site", "GET", "/", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"post to the page", "POST", "/", nil, http.StatusMethodNotAllowed},
		{"unknown file", "GET", "/web/other.js", nil, http.StatusNotFound},
		{"unknown path", "GET", "/index.html", nil, http.StatusNotFound},
	} {
		r := d.do(t, tc.method, tc.path, "", "", tc.hdr...)
		assert.Equal(t, tc.want, r.code, "%s: %s", tc.name, r.body)
	}
}

// The page's HTML holds no inline script, no inline style and no event
// handler attribute (the CSP would block them), and every script and
// stylesheet it loads is one the daemon serves.
func TestWebPageHasNothingInline(t *testing.T) {
	html, err := os.ReadFile("web/index.html")
	require.NoError(t, err)
	s := string(html)
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`), // a script with a body
		regexp.MustCompile(`(?i)\sstyle\s*=`),
		regexp.MustCompile(`(?i)<style`),
		regexp.MustCompile(`(?i)\son[a-z]+\s*=`),
		regexp.MustCompile(`(?i)javascript:`),
		regexp.MustCompile(`(?i)(?:src|href)\s*=\s*"(?:https?:)?//`), // another origin
	} {
		assert.Empty(t, bad.FindAllString(s, -1), "web/index.html matches %s", bad)
	}
	for _, m := range regexp.MustCompile(`(?:src|href)="(/[^"]*)"`).FindAllStringSubmatch(s, -1) {
		_, ok := webPaths[m[1]]
		assert.True(t, ok, "index.html loads %s, which is not served", m[1])
	}
	for _, f := range []string{"web/api.js", "web/app.js", "web/kiosk.js", "web/technician.js"} {
		js, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "console.log", "localStorage", ".style."} {
			assert.NotContains(t, string(js), bad, "%s uses %s", f, bad)
		}
	}
}

// cssColours reads the custom properties of voxward.css that are colours.
func cssColours(t *testing.T) map[string][3]float64 {
	t.Helper()
	f, err := os.Open("web/voxward.css")
	require.NoError(t, err)
	defer f.Close()
	re := regexp.MustCompile(`^\s*--([a-z-]+):\s*#([0-9a-fA-F]{6});`)
	out := map[string][3]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := re.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		var rgb [3]float64
		for i := range 3 {
			v, err := strconv.ParseUint(m[2][2*i:2*i+2], 16, 8)
			require.NoError(t, err)
			rgb[i] = float64(v) / 255
		}
		out[m[1]] = rgb
	}
	require.NoError(t, sc.Err())
	return out
}

// luminance is WCAG 2's relative luminance of an sRGB colour.
func luminance(c [3]float64) float64 {
	lin := func(v float64) float64 {
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c[0]) + 0.7152*lin(c[1]) + 0.0722*lin(c[2])
}

// contrast is WCAG 2's contrast ratio of two colours.
func contrast(a, b [3]float64) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// Every foreground and background pair the stylesheet uses passes WCAG
// AA: 4.5:1 for text, 3:1 for the borders of controls and the focus ring
// (docs/web.md lists the pairs).
func TestWebContrast(t *testing.T) {
	c := cssColours(t)
	for _, p := range []struct {
		fg, bg string
		min    float64
	}{
		{"text", "panel", 4.5}, {"text", "bg", 4.5}, {"muted", "panel", 4.5}, {"muted", "bg", 4.5},
		{"accent-text", "accent", 4.5}, {"accent", "panel", 4.5},
		{"open-text", "open-bg", 4.5}, {"closed-text", "closed-bg", 4.5},
		{"known-text", "known-bg", 4.5}, {"unknown-text", "unknown-bg", 4.5},
		{"problem-text", "problem-bg", 4.5}, {"ok-text", "ok-bg", 4.5},
		{"border", "panel", 3}, {"focus", "panel", 3}, {"focus", "bg", 3},
	} {
		fg, ok1 := c[p.fg]
		bg, ok2 := c[p.bg]
		require.True(t, ok1 && ok2, "voxward.css defines no --%s or --%s", p.fg, p.bg)
		r := contrast(fg, bg)
		t.Logf("--%s on --%s: %.2f:1", p.fg, p.bg, r)
		assert.GreaterOrEqual(t, r, p.min, "contrast(--%s, --%s) = %.2f, want ≥ %g", p.fg, p.bg, r, p.min)
	}
	// The formula's end points: black on white is 21:1.
	assert.InDelta(t, 21.0, contrast([3]float64{0, 0, 0}, [3]float64{1, 1, 1}), 1e-9)
}
