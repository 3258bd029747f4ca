package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/agent"
	"github.com/voxward/voxward/internal/clocktest"
	"github.com/voxward/voxward/internal/modeltest"
	"github.com/voxward/voxward/vault"
)

// chromiumPath is where Debian's chromium package installs the browser;
// VOXWARD_CHROMIUM overrides it.
const chromiumPath = "/usr/bin/chromium"

// chromiumInstall is the command that installs it.
const chromiumInstall = "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium"

// needChromium returns the browser's path, or skips the test (fails it
// under CI=true) when there is none.
func needChromium(t *testing.T) string {
	t.Helper()
	path := os.Getenv("VOXWARD_CHROMIUM")
	if path == "" {
		path = chromiumPath
	}
	if _, err := os.Stat(path); err != nil {
		msg := fmt.Sprintf("the browser test needs Chromium at %s (%v); install it as root with: %s", path, err, chromiumInstall)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// startBrowser starts headless Chromium with a fresh profile; it stops
// when the test ends.
func startBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	profile := t.TempDir() // removed after the browser has stopped (cleanups run last-in first-out)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		// The machine has no network: nothing may try to reach one.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browser, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(browser), "start Chromium")
	return browser
}

// tab is one browser tab, with what it saw: every URL it requested, every
// console message, and the ones that count as failures (uncaught
// exceptions, console errors, CSP violations; a refused API call the page
// handles is a network message, checked on its own).
type tab struct {
	t    *testing.T
	name string
	ctx  context.Context

	mu       sync.Mutex
	urls     []string
	console  []string
	problems []string
	network  []string // "STATUS URL" of refused requests
}

func newTab(t *testing.T, browser context.Context, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	tb := &tab{t: t, name: name, ctx: ctx}
	require.NoError(t, chromedp.Do(ctx), "open tab %s", name)
	console := chromedp.Console(ctx)
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	responses := chromedp.Events(ctx, network.ResponseReceived)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.console = append(tb.console, m.String())
			switch {
			case m.Type == chromedp.ConsoleException:
				tb.problems = append(tb.problems, "uncaught: "+m.Text)
			case m.Type == chromedp.ConsoleError && m.Source == "network":
				// "Failed to load resource": a refused call, matched
				// against its response below.
			case m.Type == chromedp.ConsoleError:
				tb.problems = append(tb.problems, "console error ("+m.Source+"): "+m.Text)
			}
			tb.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.urls = append(tb.urls, ev.Request.URL, ev.DocumentURL)
			tb.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range responses {
			if err != nil {
				return
			}
			if ev.Response.Status >= 400 {
				tb.mu.Lock()
				tb.network = append(tb.network, fmt.Sprintf("%d %s %s", ev.Response.Status, ev.Type, ev.Response.URL))
				tb.mu.Unlock()
			}
		}
	}()
	return tb
}

// do runs actions in the tab, bounded by a minute.
func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, time.Minute)
	defer cancel()
	require.NoError(tb.t, chromedp.Do(ctx, steps...), "tab %s", tb.name)
}

// eval evaluates a JavaScript expression in the tab.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	require.NoError(tb.t, err, "tab %s: %s", tb.name, expr)
	return v
}

// waitFor waits until a JavaScript expression is truthy in the tab.
func (tb *tab) waitFor(what, expr string, timeout time.Duration) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	require.NoError(tb.t, err, "tab %s: waiting for %s (%s)", tb.name, what, expr)
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	return eval[string](tb, fmt.Sprintf(`document.querySelector(%q).textContent`, sel))
}

// shot saves a full-page screenshot as dir/name.png.
func (tb *tab) shot(dir, name string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(tb.t, err)
	require.NoError(tb.t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
}

// layoutAt sets the viewport's width and checks the page has no
// horizontal overflow there; it saves a screenshot.
func (tb *tab) layoutAt(dir, name string, width, height int64) {
	tb.t.Helper()
	tb.do(chromedp.EmulateViewport(width, height))
	tb.waitFor("the layout at "+fmt.Sprint(width)+" px", fmt.Sprintf("window.innerWidth === %d", width), 5*time.Second)
	sw := eval[int](tb, `document.documentElement.scrollWidth`)
	assert.LessOrEqual(tb.t, sw, int(width), "tab %s at %d px: the page is %d px wide (horizontal overflow)", tb.name, width, sw)
	tb.shot(dir, name)
}

// unlabelled lists the visible form controls with no accessible name.
const unlabelled = `[...document.querySelectorAll('input, select, textarea, button')]
	.filter((e) => e.offsetParent !== null)
	.filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !(e.tagName === 'BUTTON' && e.textContent.trim()))
	.map((e) => e.id || e.outerHTML.slice(0, 60))`

func (tb *tab) report() (urls, console, problems, refused []string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.urls...), append([]string(nil), tb.console...),
		append([]string(nil), tb.problems...), append([]string(nil), tb.network...)
}

// syncBuffer is a log sink the daemon and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// shortWAV is the first second of a 16 kHz 16-bit mono WAV file.
func shortWAV(t *testing.T, src string) []byte {
	t.Helper()
	a, err := os.ReadFile(src)
	require.NoError(t, err)
	short := append([]byte(nil), a[:44+2*16000]...)
	copy(short[40:44], []byte{0x00, 0x7d, 0x00, 0x00}) // data chunk: 32,000 bytes
	copy(short[4:8], []byte{0x24, 0x7d, 0x00, 0x00})   // RIFF size: 36 + 32,000
	return short
}

// The web page end to end in headless Chromium: as a kiosk it shows the
// disclosure in force and two speakers consent; as a technician they are
// enrolled from WAV files (a 1-second file is refused as too short, with
// its figures), a session plays a conversation in which they alternate
// with an unenrolled voice, and the page names them in order with
// "unknown" for the stranger; kiosk withdrawals close the gate, which the
// technician's page shows within a second. Along the way: the page's
// security headers, no JavaScript error or CSP violation, a foreign
// origin cannot submit the consent form, the token is in no URL and no
// log line, no horizontal overflow at 360 or 1920 px, and every control
// has a label. Screenshots go to $VOXWARD_SCREENSHOTS (or a temporary
// directory).
func TestWebPageInChromium(t *testing.T) {
	chromium := needChromium(t)
	modeltest.Model(t) // enrolment and labels need it
	shots := os.Getenv("VOXWARD_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(shots, 0o755))
	began := time.Now()

	st := newState(t)
	clk := clocktest.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	cfg := st.config()
	cfg.Source = "wav:" + filepath.Join(speakersDir, "conversation.wav")
	cfg.SessionMax = 0
	cfg.Operator = "Example Hall"
	cfg.OperatorContact = "privacy@example.org"
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := startLogging(t, cfg, logger, agent.WithClock(clk))
	t.Cleanup(func() { t.Logf("daemon log:\n%s", logs.String()) })
	kioskToken, techToken := st.tokens[vault.RoleKiosk], st.tokens[vault.RoleTechnician]
	disc := disclosureOf(t, d, kioskToken)

	browser := startBrowser(t, chromium)
	t.Logf("Chromium started after %v", time.Since(began).Round(time.Millisecond))
	kiosk := newTab(t, browser, "kiosk")
	tech := newTab(t, browser, "technician")

	// ---- The kiosk, on a small portrait screen. ----
	kiosk.do(chromedp.EmulateViewport(360, 740, chromedp.EmulatePortrait))
	resp, err := chromedp.Run(kiosk.ctx, chromedp.NavigateResponse(d.base+"/"))
	require.NoError(t, err)
	assert.Equal(t, int64(http.StatusOK), resp.Status)
	assert.Equal(t, agent.WebCSP, resp.Headers["Content-Security-Policy"], "the page's CSP as the browser got it")
	assert.Equal(t, "DENY", resp.Headers["X-Frame-Options"])
	kiosk.waitFor("the sign-in form", `!document.getElementById('signin').hidden`, 10*time.Second)
	// Keyboard: the first Tab reaches the skip link, and it is visible when focused.
	kiosk.do(chromedp.KeyEvent("\t"))
	assert.Equal(t, "skip", eval[string](kiosk, `document.activeElement.className`))
	assert.NotEqual(t, "none", eval[string](kiosk, `getComputedStyle(document.activeElement).outlineStyle`), "no visible focus")

	// Enter in the token field signs in (keyboard use).
	kiosk.do(chromedp.SendKeys(chromedp.ID("signin-token"), kioskToken+"\n"))
	kiosk.waitFor("the kiosk view with the disclosure", `!document.getElementById('kiosk').hidden && document.getElementById('k-p-recognition')`, 10*time.Second)
	assert.Empty(t, eval[string](kiosk, `document.getElementById('signin-token').value`), "the token stays in the sign-in field")

	// The disclosure in force, every line of it, and the retention schedule.
	shown := eval[string](kiosk, `document.getElementById('k-disclosure').innerText`)
	for _, line := range strings.Split(disc.Text, "\n") {
		line = strings.TrimPrefix(strings.TrimSpace(line), "- ")
		if line != "" {
			assert.Contains(t, shown, line, "the kiosk does not show this line of the disclosure")
		}
	}
	assert.Equal(t, disc.Version, kiosk.text("#k-disc-version"))
	assert.Equal(t, 6, eval[int](kiosk, `document.querySelectorAll('#k-retention tbody tr').length`))
	assert.Empty(t, eval[[]string](kiosk, unlabelled), "kiosk controls without a label")
	kiosk.layoutAt(shots, "kiosk-360", 360, 740)

	// Without "I agree" nothing is sent (the browser's own check holds the form).
	kiosk.do(
		chromedp.SendKeys(chromedp.ID("k-name"), "Nobody"),
		chromedp.SendKeys(chromedp.ID("k-signature"), "Nobody"),
		chromedp.Click(chromedp.ID("k-p-recognition")),
		chromedp.Click(chromedp.ID("k-submit")),
	)
	assert.True(t, eval[bool](kiosk, `document.getElementById('k-agree').validity.valueMissing && !document.getElementById('k-form').checkValidity()`),
		"the form can be sent without \"I agree\"")
	assert.True(t, eval[bool](kiosk, `document.getElementById('k-done').hidden`))
	kiosk.do(chromedp.Reset(chromedp.ID("k-form"))) // (had it been sent, the subject count below would be 3)

	type person struct{ name, contact, code, deletion string }
	people := []*person{{name: "Ada Example", contact: "ada@example.org"}, {name: "Ben Example"}}
	for i, p := range people {
		kiosk.do(chromedp.SendKeys(chromedp.ID("k-name"), p.name))
		if p.contact != "" {
			kiosk.do(chromedp.SendKeys(chromedp.ID("k-contact"), p.contact))
		}
		kiosk.do(
			chromedp.Click(chromedp.ID("k-p-recognition")),
			chromedp.SendKeys(chromedp.ID("k-signature"), p.name),
			chromedp.Click(chromedp.ID("k-agree")),
			chromedp.Click(chromedp.ID("k-submit")),
		)
		kiosk.waitFor("the confirmation", `!document.getElementById('k-done').hidden`, 10*time.Second)
		assert.Equal(t, "k-done-h", eval[string](kiosk, `document.activeElement.id`), "focus moves to the confirmation")
		p.code = kiosk.text("#k-done-code")
		p.deletion = kiosk.text("#k-done-token")
		assert.Regexp(t, `^([0-9a-f]{4} ){7}[0-9a-f]{4}$`, p.code)
		assert.NotEmpty(t, p.deletion)
		if i == 0 {
			kiosk.layoutAt(shots, "kiosk-confirmation-360", 360, 740)
		}
		kiosk.do(chromedp.Click(chromedp.ID("k-done-finish")))
		kiosk.waitFor("the consent form again", `!document.getElementById('k-consent').hidden && document.getElementById('k-done-token').textContent === ''`, 5*time.Second)
	}
	ids := map[string]string{}
	subs := d.do(t, "GET", "/v1/subjects", techToken, "")
	var list agent.SubjectList
	subs.json(t, &list)
	require.Equal(t, 2, list.Count)
	for _, s := range list.Subjects {
		ids[s.DisplayName] = s.ID
		assert.Equal(t, []vault.Purpose{vault.PurposeRecognition}, s.Purposes, s.DisplayName)
	}
	for _, p := range people {
		assert.Equal(t, ids[p.name], strings.ReplaceAll(p.code, " ", ""), "the withdrawal code of %s is not their subject id", p.name)
	}

	// ---- A foreign origin cannot submit the consent form. ----
	foreignConsent := func(name string) string {
		b, err := json.Marshal(map[string]any{"display_name": name, "contact": "",
			"consent": map[string]any{"disclosure_sha256": disc.SHA256, "agreed": true, "signature": name, "purposes": []string{"recognition"}}})
		require.NoError(t, err)
		return string(b)
	}
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The classic cross-site JSON post: a text/plain form whose one
		// field spells the JSON body.
		body := foreignConsent("Mallory Form")
		cut := len(body) - 2
		fmt.Fprintf(w, `<!doctype html><title>elsewhere</title><form id="f" method="post" enctype="text/plain" action="%s/v1/subjects">`+
			`<input type="hidden" name="%s" value="%s"><button id="go">go</button></form>`,
			d.base, html.EscapeString(body[:cut]+`,"x":"`), html.EscapeString(`"`+body[cut:]))
	}))
	t.Cleanup(foreign.Close)
	require.NotEqual(t, foreign.URL, d.base)
	evil := newTab(t, browser, "foreign origin")
	evil.do(chromedp.Navigate(foreign.URL))
	answer, err := chromedp.RunResponse(evil.ctx, chromedp.Click(chromedp.ID("go")))
	require.NoError(t, err)
	assert.Equal(t, int64(http.StatusForbidden), answer.Status, "the daemon's answer to a foreign form")
	assert.Contains(t, eval[string](evil, `document.body.innerText`), "origin_refused")
	// A script there, even holding a kiosk token, is refused too (the
	// preflight is answered 403, so the POST is never sent).
	evil.do(chromedp.Navigate(foreign.URL))
	got := eval[string](evil, fmt.Sprintf(`fetch(%q, {method: 'POST', headers: {'Authorization': 'Bearer ' + %q, 'Content-Type': 'application/json'}, body: %q})
		.then((r) => 'answered ' + r.status, (e) => 'refused: ' + e.message)`, d.base+"/v1/subjects", kioskToken, foreignConsent("Mallory Script")))
	assert.True(t, strings.HasPrefix(got, "refused"), "a foreign page's fetch: %s", got)
	assert.Equal(t, 2, d.status(t, techToken).Vault.Records["subject"], "a foreign origin stored a consent")

	// ---- The technician. ----
	tech.do(chromedp.EmulateViewport(1280, 900))
	tech.do(chromedp.Navigate(d.base + "/"))
	tech.waitFor("the sign-in form", `!document.getElementById('signin').hidden`, 10*time.Second)
	// A wrong token is turned away with a reason, and not kept.
	tech.do(chromedp.SendKeys(chromedp.ID("signin-token"), "vxw_not-a-token"), chromedp.Click(chromedp.CSS("#signin-form button")))
	tech.waitFor("the refusal", `document.getElementById('signin-msg').textContent.includes('unknown or revoked')`, 10*time.Second)
	assert.True(t, eval[bool](tech, `sessionStorage.getItem('voxward.token') === null && document.getElementById('tech').hidden`))
	tech.do(chromedp.SendKeys(chromedp.ID("signin-token"), techToken), chromedp.Click(chromedp.CSS("#signin-form button")))
	tech.waitFor("the technician view with both subjects", `!document.getElementById('tech').hidden && document.querySelectorAll('#t-subjects tbody tr').length === 2`, 10*time.Second)
	assert.Equal(t, "closed", tech.text("#t-capture"))
	assert.Contains(t, tech.text("#t-capture-reason"), "no consent lease")
	assert.Empty(t, eval[[]string](tech, unlabelled), "technician controls without a label")

	// Enrolment: a 1-second take is refused with its reason and figures.
	dir := t.TempDir()
	short := filepath.Join(dir, "one-second.wav")
	require.NoError(t, os.WriteFile(short, shortWAV(t, filepath.Join(speakersDir, "enrol-1688.wav")), 0o644))
	enrol := func(name, file string) string {
		tech.do(
			chromedp.SetValue(chromedp.ID("t-e-subject"), ids[name]),
			chromedp.SetUploadFiles(chromedp.ID("t-e-file"), []string{file}),
			chromedp.Evaluate[chromedp.Void](`document.getElementById('t-e-result').replaceChildren()`),
			chromedp.Click(chromedp.ID("t-e-submit")),
		)
		tech.waitFor("the enrolment's outcome", `document.querySelector('#t-e-result [data-outcome]')`, 30*time.Second)
		return eval[string](tech, `document.querySelector('#t-e-result [data-outcome]').dataset.outcome`)
	}
	require.Equal(t, "refused", enrol("Ada Example", short))
	assert.Equal(t, []string{"too_short"}, eval[[]string](tech, `[...document.querySelectorAll('#t-e-result [data-issue]')].map((e) => e.dataset.issue)`))
	figs := eval[[]string](tech, `[...document.querySelectorAll('#t-e-result .figures td')].map((e) => e.textContent)`)
	require.Len(t, figs, 5, "one sample's five figures")
	assert.Equal(t, "1.0", figs[0], "the sample's length in seconds")
	assert.Contains(t, tech.text("#t-e-result"), "8.0 s needed")
	assert.Zero(t, d.status(t, techToken).Vault.Records["template"], "a refused enrolment stored a voiceprint")
	tech.shot(shots, "technician-refused")

	abs := func(f string) string {
		p, err := filepath.Abs(filepath.Join(speakersDir, f))
		require.NoError(t, err)
		return p
	}
	require.Equal(t, "enrolled", enrol("Ada Example", abs("enrol-1688.wav")), tech.text("#t-e-result"))
	require.Equal(t, "enrolled", enrol("Ben Example", abs("enrol-1998.wav")), tech.text("#t-e-result"))
	tech.waitFor("both subjects listed as enrolled", `[...document.querySelectorAll('#t-subjects tbody tr')].filter((r) => r.dataset.state === 'enrolled').length === 2`, 10*time.Second)

	// A session with both; the page subscribes to its labels before any
	// audio plays (the fake clock holds the source until the test moves it).
	tech.do(
		chromedp.SendKeys(chromedp.ID("t-s-title"), "Panel"),
		chromedp.Click(chromedp.ID("t-s-p-"+ids["Ada Example"])),
		chromedp.Click(chromedp.ID("t-s-p-"+ids["Ben Example"])),
		chromedp.Click(chromedp.ID("t-s-start")),
	)
	tech.waitFor("the session's label stream", `document.querySelector('.session[data-state="listening"]')`, 10*time.Second)
	tech.waitFor("capture shown open", `document.getElementById('t-capture').textContent === 'open'`, 5*time.Second)
	playUntil(t, clk, 400, func() bool { return d.status(t, techToken).Pipeline.State == "source ended" })
	turns := `[...document.querySelectorAll('.session .turn .who')].map((e) => e.textContent)`
	want := []string{"Ada Example", "Ben Example", "unknown", "Ada Example", "Ben Example", "unknown"}
	tech.waitFor("six speaker turns", turns+`.length >= 6`, 10*time.Second)
	assert.Equal(t, want, eval[[]string](tech, turns), "the labels the page shows, in order")
	assert.Equal(t, 4, eval[int](tech, `document.querySelectorAll('.session .turn.known').length`))
	tech.waitFor("the level meter moved", `document.getElementById('t-level').value > -90`, 5*time.Second)
	tech.waitFor("the session's threshold shown", `document.querySelector('.session [data-threshold-from]')`, 5*time.Second)
	assert.Equal(t, "model", eval[string](tech, `document.querySelector('.session [data-threshold-from]').dataset.thresholdFrom`), "two voices on the box, both in the session: no venue")
	facts := eval[string](tech, `document.querySelector('.session [data-threshold-from]').textContent`)
	assert.Contains(t, facts, "the model's threshold")
	assert.Contains(t, facts, "for 8 kHz audio against a voice enrolled from 8 kHz audio", "the band-limited threshold shown")

	// Both views at 360 px and 1920 px: nothing overflows.
	tech.layoutAt(shots, "technician-1280", 1280, 900)
	tech.layoutAt(shots, "technician-360", 360, 740)
	tech.layoutAt(shots, "technician-1920", 1920, 1080)
	kiosk.layoutAt(shots, "kiosk-1920", 1920, 1080)
	kiosk.do(chromedp.EmulateViewport(360, 740, chromedp.EmulatePortrait))

	// ---- Withdrawal at the kiosk: Ben first (Ada still consents, so the
	// gate stays open), then Ada, which closes it. ----
	typeCode := func(p *person) {
		kiosk.do(
			chromedp.Click(chromedp.ID("k-tab-withdraw")),
			chromedp.Evaluate[chromedp.Void](`document.getElementById('k-w-result').replaceChildren()`),
			chromedp.SendKeys(chromedp.ID("k-w-code"), p.code),
		)
	}
	typeCode(people[1])
	kiosk.do(chromedp.Click(chromedp.ID("k-w-submit")))
	kiosk.waitFor("Ben's receipt", `document.getElementById('k-w-result').textContent.includes('withdrawn')`, 10*time.Second)
	tech.waitFor("Ben shown withdrawn", fmt.Sprintf(`document.querySelector('#t-subjects tr[data-subject=%q]').dataset.state === 'withdrawn'`, ids["Ben Example"]), 10*time.Second)
	assert.Equal(t, "open", tech.text("#t-capture"), "the gate closed while Ada still consents")

	typeCode(people[0])
	clicked := time.Now()
	kiosk.do(chromedp.Click(chromedp.ID("k-w-submit")))
	tech.waitFor("the gate shown closed", `document.getElementById('t-capture').textContent === 'closed'`, 5*time.Second)
	seen := time.Since(clicked)
	t.Logf("withdrawal → gate shown closed on the technician's page: %v", seen.Round(time.Millisecond))
	assert.Less(t, seen, time.Second, "the technician's page showed the gate closed %v after the kiosk's withdrawal", seen)
	s := d.status(t, techToken)
	assert.False(t, s.Capture.Open)
	assert.Empty(t, s.Sessions)
	kiosk.waitFor("Ada's receipt", `document.getElementById('k-w-result').textContent.includes('withdrawn')`, 10*time.Second)
	tech.waitFor("the session card ended", `document.querySelector('.session').dataset.state === 'ended'`, 5*time.Second)
	tech.waitFor("both shown withdrawn", `[...document.querySelectorAll('#t-subjects tbody tr')].filter((r) => r.dataset.state === 'withdrawn').length === 2`, 10*time.Second)
	page := eval[string](tech, `document.body.innerText`)
	for _, p := range people {
		assert.NotContains(t, page, p.name, "the technician's page still shows an erased name")
	}
	assert.Equal(t, []string{"withdrawn speaker", "withdrawn speaker", "unknown", "withdrawn speaker", "withdrawn speaker", "unknown"}, eval[[]string](tech, turns))
	assert.False(t, eval[bool](tech, `document.querySelector('.session button').offsetParent !== null`), "a stopped session still offers Stop")
	kiosk.shot(shots, "kiosk-withdrawn-360")
	tech.layoutAt(shots, "technician-closed-1280", 1280, 900)

	// ---- CSP in force, and a violation counts: inline code is refused. ----
	eval[chromedp.Void](tech, `(() => { const s = document.createElement('script'); s.textContent = 'window.inlineRan = true'; document.head.append(s); })()`)
	tech.waitFor("the violation reported", `!document.getElementById('page-problem').hidden`, 5*time.Second)
	assert.False(t, eval[bool](tech, `window.inlineRan === true`), "an inline script ran")
	_, _, problems, _ := tech.report()
	require.NotEmpty(t, problems, "a CSP violation was not counted as a failure")
	tech.mu.Lock()
	tech.problems = nil // that one was the test's own
	tech.mu.Unlock()

	// Sign out: the token leaves the tab's storage.
	tech.do(chromedp.Reload())
	tech.waitFor("the view again after a reload", `!document.getElementById('tech').hidden`, 10*time.Second)
	tech.do(chromedp.Click(chromedp.ID("signout")))
	tech.waitFor("the sign-in form", `!document.getElementById('signin').hidden`, 5*time.Second)
	assert.True(t, eval[bool](tech, `sessionStorage.getItem('voxward.token') === null`))

	// ---- What the browser and the daemon saw. ----
	secrets := []string{kioskToken, techToken, st.tokens[vault.RoleAdmin], "vxw_not-a-token"}
	for _, p := range people {
		secrets = append(secrets, p.deletion)
	}
	allowedRefusals := []string{
		"403 Fetch " + d.base + "/v1/status",                                          // the kiosk's token tried for the technician view
		"422 Fetch " + d.base + "/v1/subjects/" + ids["Ada Example"] + "/enrollments", // the 1-second take
		"401 Fetch " + d.base + "/v1/status",                                          // the wrong token at the technician's sign-in
	}
	for _, tb := range []*tab{kiosk, tech, evil} {
		urls, console, problems, refused := tb.report()
		assert.NotEmpty(t, urls, tb.name)
		for _, u := range urls {
			for _, s := range secrets {
				assert.NotContains(t, u, s, "tab %s requested a URL holding a secret", tb.name)
			}
		}
		for _, m := range console {
			for _, s := range secrets {
				assert.NotContains(t, m, s, "tab %s logged a secret to its console", tb.name)
			}
		}
		if tb == evil {
			continue // refusals there are the point
		}
		assert.Empty(t, problems, "tab %s: JavaScript errors or CSP violations", tb.name)
		for _, r := range refused {
			assert.Contains(t, allowedRefusals, r, "tab %s: an unexpected refusal", tb.name)
		}
		t.Logf("tab %s: %d requests, %d console messages, refused: %v", tb.name, len(urls), len(console), refused)
	}
	logged := logs.String()
	for _, s := range secrets {
		assert.NotContains(t, logged, s, "the daemon logged a secret")
	}
	for _, p := range people {
		assert.NotContains(t, logged, p.name, "the daemon logged a name")
	}
	t.Logf("screenshots in %s; the whole test took %v", shots, time.Since(began).Round(time.Millisecond))
}

// signIn opens the page in the tab and signs in with token; view is the
// section that must then show ("kiosk" or "tech").
func (tb *tab) signIn(base, token, view string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(base + "/"))
	tb.waitFor("the sign-in form", `!document.getElementById('signin').hidden`, 10*time.Second)
	tb.do(chromedp.SendKeys(chromedp.ID("signin-token"), token+"\n"))
	tb.waitFor("the "+view+" view", fmt.Sprintf(`!document.getElementById(%q).hidden`, view), 10*time.Second)
}

// Enrolment from the live source on the technician's page: the page asks
// for N seconds, the source opens for that subject alone, and the page
// shows the outcome with the take's figures; the source closes after. The
// subject held a template of an earlier model, shown as such until then.
func TestWebEnrolFromLiveSource(t *testing.T) {
	chromium := needChromium(t)
	modeltest.Model(t) // enrolment needs it
	st := newState(t)
	clk := clocktest.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	cfg := st.config()
	cfg.Source = "wav:" + filepath.Join(speakersDir, "enrol-1688.wav")
	speaker := st.enrol(t, "Ana").id // with a template of an earlier model
	d := start(t, cfg, agent.WithClock(clk))
	tech := newTab(t, startBrowser(t, chromium), "technician")
	tech.signIn(d.base, st.tokens[vault.RoleTechnician], "tech")
	tech.waitFor("the subject", `document.querySelectorAll('#t-subjects tbody tr').length === 1`, 10*time.Second)
	assert.Equal(t, "enrolled with an earlier model: enrol again", eval[string](tech, `document.querySelector('#t-subjects tbody tr').dataset.state`),
		"a template the running model does not match shown as enrolled")

	tech.do(
		chromedp.SetValue(chromedp.ID("t-e-subject"), speaker.String()),
		chromedp.Click(chromedp.ID("t-e-from-live")),
	)
	assert.True(t, eval[bool](tech, `document.getElementById('t-e-file-row').hidden && !document.getElementById('t-e-live-row').hidden`),
		"choosing the live source shows its seconds, not the file")
	tech.do(
		chromedp.SetValue(chromedp.ID("t-e-seconds"), "11"),
		chromedp.Click(chromedp.ID("t-e-submit")),
	)
	tech.waitFor("the recording under way", `document.getElementById('t-e-result').textContent.includes('Recording 11 s')`, 10*time.Second)
	outcome := `(document.querySelector('#t-e-result [data-outcome]') || {dataset: {}}).dataset.outcome || ''`
	// The source's pacing and the recording's deadline, beside retention's.
	playUntilWaiters(t, clk, retentionTimers+2, 200, func() bool { return eval[string](tech, outcome) != "" })
	require.Equal(t, "enrolled", eval[string](tech, outcome), tech.text("#t-e-result"))
	figs := eval[[]string](tech, `[...document.querySelectorAll('#t-e-result .figures td')].map((e) => e.textContent)`)
	require.Len(t, figs, 5)
	assert.Equal(t, "11.0", figs[0], "the take's length in seconds")
	tech.waitFor("the subject shown enrolled", `document.querySelector('#t-subjects tbody tr').dataset.state === 'enrolled'`, 10*time.Second)
	tech.waitFor("capture shown closed again", `document.getElementById('t-capture').textContent === 'closed'`, 5*time.Second)
	s := d.status(t, st.tokens[vault.RoleTechnician])
	assert.False(t, s.Capture.Open)
	assert.Equal(t, uint64(1), s.Capture.Opens, "the source opened for the enrolment only")
	assert.Equal(t, 1, s.Vault.Records["template"])
	_, _, problems, refused := tech.report()
	assert.Empty(t, problems, "JavaScript errors or CSP violations")
	assert.Empty(t, refused, "refused requests")
}
