package sync

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
)

// Box is one box a puller fetches from.
type Box struct {
	// Name keys the box's pinned key (KnownDevices); it appears in logs.
	Name string
	// URL is the daemon's address, http://HOST:PORT or https://…
	URL string
	// Token is a puller-role bearer token. It never reaches a log.
	Token string
}

// LogValue keeps the token out of logs.
func (b Box) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", b.Name), slog.String("url", b.URL))
}

// String names the box without its token.
func (b Box) String() string { return b.Name + " (" + b.URL + ")" }

// BoxLine is one line of a boxes file before its token is resolved.
type BoxLine struct {
	Line  int
	Name  string
	URL   string
	Token string // env:VAR, file:PATH, or the token itself
}

// MaxBoxesBytes caps a boxes file.
const MaxBoxesBytes = 4 << 20

// ParseBoxes reads a boxes file: one box a line, "NAME URL TOKEN"
// separated by spaces or tabs, where NAME is a ValidID, URL is http:// or
// https:// with a host, and TOKEN is env:VAR (the token is in that
// environment variable), file:PATH (alone in a file of mode 0600 or
// stricter), or the token itself (then the boxes file must be 0600).
// Blank lines and lines starting with # are skipped. Names are unique.
// Errors name the line and never quote a token.
func ParseBoxes(r io.Reader) ([]BoxLine, error) {
	b, err := readCapped(r, MaxBoxesBytes)
	if err != nil {
		return nil, err
	}
	var out []BoxLine
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("%w: line %d: want NAME URL TOKEN, got %d fields", ErrMalformed, n, len(f))
		}
		if !ValidID(f[0]) {
			return nil, fmt.Errorf("%w: line %d: box name %q: 1-64 letters, digits, '-' or '_'", ErrMalformed, n, f[0])
		}
		if prev, dup := seen[f[0]]; dup {
			return nil, fmt.Errorf("%w: line %d: box name %q already on line %d", ErrMalformed, n, f[0], prev)
		}
		if err := CheckBoxURL(f[1]); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		tok := f[2]
		switch {
		case strings.HasPrefix(tok, "env:") && len(tok) == len("env:"),
			strings.HasPrefix(tok, "file:") && len(tok) == len("file:"):
			return nil, fmt.Errorf("%w: line %d: %s names no variable or file", ErrMalformed, n, tok)
		}
		seen[f[0]] = n
		out = append(out, BoxLine{Line: n, Name: f[0], URL: strings.TrimSuffix(f[1], "/"), Token: tok})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: line %d: %v", ErrMalformed, n+1, err)
	}
	return out, nil
}

// CheckBoxURL accepts http:// or https:// URLs with a host and no user
// information, query or fragment.
func CheckBoxURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%w: URL %q: want http://HOST:PORT or https://HOST:PORT", ErrMalformed, s)
	}
	return nil
}

// LoadBoxes reads the boxes file at path and resolves every token: env:VAR
// through getenv, file:PATH from a file that only its owner may read. A
// literal token is accepted only when the boxes file itself is mode 0600 or
// stricter.
func LoadBoxes(path string, getenv func(string) string) ([]Box, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	lines, err := ParseBoxes(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make([]Box, 0, len(lines))
	for _, l := range lines {
		tok, err := resolveToken(l.Token, st.Mode().Perm(), getenv)
		if err != nil {
			return nil, fmt.Errorf("%s: line %d (box %s): %w", path, l.Line, l.Name, err)
		}
		out = append(out, Box{Name: l.Name, URL: l.URL, Token: tok})
	}
	return out, nil
}

func resolveToken(spec string, boxesPerm os.FileMode, getenv func(string) string) (string, error) {
	switch {
	case strings.HasPrefix(spec, "env:"):
		v := strings.TrimSpace(getenv(spec[len("env:"):]))
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty or unset", spec[len("env:"):])
		}
		return v, nil
	case strings.HasPrefix(spec, "file:"):
		return ReadTokenFile(spec[len("file:"):])
	default:
		if boxesPerm&0o077 != 0 {
			return "", fmt.Errorf("a token written in the boxes file needs the file to be mode 0600 (it is %04o); or use env:VAR or file:PATH", boxesPerm)
		}
		return spec, nil
	}
}

// ReadTokenFile reads a token alone in a file that only its owner may read
// or write (mode 0600 or stricter); surrounding white space is dropped.
func ReadTokenFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("token file %s is mode %04o: want 0600 or stricter", path, st.Mode().Perm())
	}
	b, err := readCapped(f, 4096)
	if err != nil {
		return "", fmt.Errorf("token file %s: %w", path, err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return "", fmt.Errorf("token file %s: want one token alone", path)
	}
	return tok, nil
}

// readCapped reads all of r, refusing more than limit bytes.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, limit)
	}
	return b, nil
}
