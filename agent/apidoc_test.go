package agent

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// apiDoc is the project's documentation of the local API, relative to this
// package's directory (where go test runs).
const apiDoc = "../docs/api.md"

// docRoute is one row of a route table in docs/api.md.
type docRoute struct {
	pattern string // "METHOD /path"
	role    string // the first word in backquotes of the role column
	line    int
}

// readDocRoutes returns the rows of the table in docs/api.md that sits
// between the HTML comments <!-- routes:NAME --> and <!-- /routes:NAME -->.
// A row's first column is `METHOD /path` in backquotes, its second column
// starts with the role in backquotes.
func readDocRoutes(t *testing.T, name string) []docRoute {
	t.Helper()
	f, err := os.Open(apiDoc)
	require.NoError(t, err)
	defer f.Close()
	begin, end := "<!-- routes:"+name+" -->", "<!-- /routes:"+name+" -->"
	var (
		rows         []docRoute
		inside, seen bool
		n            int
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == begin:
			require.False(t, seen, "%s:%d: a second %s", apiDoc, n, begin)
			inside, seen = true, true
			continue
		case line == end:
			require.True(t, inside, "%s:%d: %s before %s", apiDoc, n, end, begin)
			inside = false
			continue
		}
		if !inside || !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		first := strings.TrimSpace(cells[0])
		if !strings.HasPrefix(first, "`") {
			continue // the header row or the separator
		}
		pattern := strings.Trim(first, "`")
		method, path, ok := strings.Cut(pattern, " ")
		require.True(t, ok && method == strings.ToUpper(method) && strings.HasPrefix(path, "/"),
			"%s:%d: first column %s is not `METHOD /path`", apiDoc, n, first)
		require.GreaterOrEqual(t, len(cells), 2, "%s:%d: no role column", apiDoc, n)
		role, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(cells[1]), "`"), "`")
		rows = append(rows, docRoute{pattern: pattern, role: role, line: n})
	}
	require.NoError(t, sc.Err())
	require.True(t, seen, "%s has no %s ... %s block", apiDoc, begin, end)
	require.False(t, inside, "%s: %s is never closed", apiDoc, begin)
	if name != "planned" { // every API.md route may be built
		require.NotEmpty(t, rows, "%s: the %s table has no rows", apiDoc, name)
	}
	return rows
}

// TestAPIDocMatchesRoutes checks docs/api.md against the router: every
// route the handler registers is documented with its role, every
// documented route is served, and no served route is still listed as not
// built.
func TestAPIDocMatchesRoutes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.StateDir = t.TempDir() // New touches neither disk nor network
	a, err := New(cfg, nil)
	require.NoError(t, err)

	served := map[string]string{} // pattern → role
	var order []string
	for _, rt := range a.routes() {
		if _, dup := served[rt.pattern]; dup {
			t.Errorf("routes() registers %s twice", rt.pattern)
		}
		served[rt.pattern] = rt.role
		order = append(order, rt.pattern)
	}

	documented := map[string]docRoute{}
	for _, d := range readDocRoutes(t, "served") {
		if prev, dup := documented[d.pattern]; dup {
			t.Errorf("%s:%d: %s documented twice (first on line %d)", apiDoc, d.line, d.pattern, prev.line)
		}
		documented[d.pattern] = d
		role, ok := served[d.pattern]
		switch {
		case !ok:
			t.Errorf("documented but not served: %s (%s:%d)", d.pattern, apiDoc, d.line)
		case d.role != role:
			t.Errorf("%s:%d: role of %s = %q, want %q (what the router checks)", apiDoc, d.line, d.pattern, d.role, role)
		}
	}
	for _, p := range order {
		if _, ok := documented[p]; !ok {
			t.Errorf("served but not documented: %s (role %s); add it to the routes:served table of %s", p, served[p], apiDoc)
		}
	}
	for _, d := range readDocRoutes(t, "planned") {
		if _, ok := served[d.pattern]; ok {
			t.Errorf("%s:%d: %s is served but listed as not built yet", apiDoc, d.line, d.pattern)
		}
	}

	// The handler answers each route in the table itself, not the
	// fallback's 404 or 405: without a token that is 401; a route that
	// needs none answers anything but those (200, or 4xx for a missing
	// body).
	h := a.handler()
	for _, p := range order {
		method, path, _ := strings.Cut(p, " ")
		path = strings.ReplaceAll(path, "{$}", "") // "/{$}" is exactly "/"
		req := httptest.NewRequest(method, strings.ReplaceAll(path, "{id}", "0123456789abcdef0123456789abcdef"), nil)
		req.Host = "127.0.0.1"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		want := http.StatusUnauthorized
		if served[p] == roleNone {
			if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed || rec.Code == http.StatusUnauthorized || rec.Code >= 500 {
				t.Errorf("%s without a token = %d, want the route's own answer: %s", p, rec.Code, rec.Body)
			}
			continue
		}
		if rec.Code != want {
			t.Errorf("%s without a token = %d, want %d: %s", p, rec.Code, want, rec.Body)
		}
	}
}
