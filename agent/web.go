package agent

import (
	"embed"
	"net/http"
	"strconv"
)

// The daemon's own web page: a kiosk view (disclosure, consent,
// withdrawal) and a technician view (status, level meter, subjects,
// enrolment, sessions and their live labels). It is plain HTML, CSS and
// JavaScript embedded in the binary: no build step, nothing fetched from
// elsewhere, so it works on a box with no network. The page holds no
// secret of its own; it calls the same /v1 API as curl does, with the
// token the user pastes into its sign-in form (docs/web.md).

//go:embed web/index.html web/voxward.css web/api.js web/app.js web/kiosk.js web/technician.js
var webFiles embed.FS

// WebCSP is the Content-Security-Policy of the page and its assets: only
// this origin's own files, no inline script or style, no framing, no
// other origin to connect to or post a form to.
const WebCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// webAsset is one file of the page: the path it is served at, the file
// in webFiles, and its media type.
type webAsset struct {
	path, file, ctype string
}

// webAssets are the page's files. Each is one route of its own (routes),
// so that docs/api.md lists every path the daemon serves.
var webAssets = []webAsset{
	// "/{$}" is exactly "/": a bare "/" pattern would match every path.
	{"/{$}", "web/index.html", "text/html; charset=utf-8"},
	{"/web/voxward.css", "web/voxward.css", "text/css; charset=utf-8"},
	{"/web/api.js", "web/api.js", "text/javascript; charset=utf-8"},
	{"/web/app.js", "web/app.js", "text/javascript; charset=utf-8"},
	{"/web/kiosk.js", "web/kiosk.js", "text/javascript; charset=utf-8"},
	{"/web/technician.js", "web/technician.js", "text/javascript; charset=utf-8"},
}

// webRoutes are the page's routes: no token (the page and its code are
// public; every call they make needs one), behind the same Host and Origin
// checks as the API.
func (a *App) webRoutes() []apiRoute {
	out := make([]apiRoute, 0, len(webAssets))
	for _, f := range webAssets {
		h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, http.StatusInternalServerError, "internal", "this file of the page is missing from the binary")
		})
		// The files are embedded at build time; a name in webAssets that
		// is not among them is a programmer's error, which TestWebAssets
		// catches.
		if body, err := webFiles.ReadFile(f.file); err == nil {
			h = serveWebAsset(f.ctype, body)
		}
		out = append(out, apiRoute{"GET " + f.path, roleNone, h})
	}
	return out
}

// setWebHeaders sets the security headers of the page and its assets.
func setWebHeaders(h http.Header) {
	h.Set("Content-Security-Policy", WebCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// serveWebAsset answers one embedded file with the security headers.
func serveWebAsset(ctype string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		setWebHeaders(w.Header())
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(body) // the client went away; nothing to do
		}
	}
}
