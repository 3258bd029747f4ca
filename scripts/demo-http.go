//go:build ignore

// demo-http is the demo's HTTP client, so that scripts/demo.sh needs only
// Go (a fresh Debian box may lack curl and jq):
//
//	go run scripts/demo-http.go [-token T] [-host H] [-expect CODE] [-get a.b.c] [-wav FILE] METHOD URL [JSON]
//	go run scripts/demo-http.go -token T -sse URL
//
// It prints the response body (or, with -get, one field of the JSON body)
// and exits 1 when the status is not -expect (default: any 2xx). -wav
// sends a file as the audio/wav body. -sse reads a Server-Sent Events
// stream and prints one line per speaker turn until the stream ends.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	token := flag.String("token", "", "bearer token")
	host := flag.String("host", "", "Host header to send instead of the URL's")
	expect := flag.Int("expect", 0, "the status code wanted (0: any 2xx)")
	get := flag.String("get", "", "print this dotted field of the JSON body instead of the body")
	wav := flag.String("wav", "", "send this file as the body, Content-Type audio/wav")
	sse := flag.Bool("sse", false, "read an event stream (GET URL) and print its turns")
	flag.Parse()
	if *sse {
		stream(*token, flag.Arg(0))
		return
	}
	if flag.NArg() < 2 || flag.NArg() > 3 {
		fmt.Fprintln(os.Stderr, "usage: demo-http [-token T] [-host H] [-expect CODE] [-get a.b] METHOD URL [JSON]")
		os.Exit(2)
	}
	var body io.Reader
	ctype := "application/json"
	if flag.NArg() == 3 {
		body = strings.NewReader(flag.Arg(2))
	}
	if *wav != "" {
		b, err := os.ReadFile(*wav)
		if err != nil {
			fail(err)
		}
		body, ctype = bytes.NewReader(b), "audio/wav"
	}
	req, err := http.NewRequest(flag.Arg(0), flag.Arg(1), body)
	if err != nil {
		fail(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if *token != "" {
		req.Header.Set("Authorization", "Bearer "+*token)
	}
	if *host != "" {
		req.Host = *host
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		fail(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		fail(err)
	}
	ok := resp.StatusCode/100 == 2
	if *expect != 0 {
		ok = resp.StatusCode == *expect
	}
	out := strings.TrimSpace(string(raw))
	if *get != "" && ok {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			fail(fmt.Errorf("body is not JSON: %v", err))
		}
		for _, k := range strings.Split(*get, ".") {
			m, isMap := v.(map[string]any)
			if !isMap {
				fail(fmt.Errorf("no field %q in %s", *get, out))
			}
			v = m[k]
		}
		if str, isString := v.(string); isString {
			out = str // a string field prints as it is, unquoted
		} else {
			b, _ := json.Marshal(v)
			out = string(b)
		}
	}
	fmt.Println(out)
	if !ok {
		fmt.Fprintf(os.Stderr, "demo-http: %s %s: status %d\n", flag.Arg(0), flag.Arg(1), resp.StatusCode)
		os.Exit(1)
	}
}

// stream prints each turn of an event stream as
// "HH:MM:SS.s–HH:MM:SS.s  NAME  (score S)" until "event: end".
func stream(token, url string) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		fail(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fail(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fail(fmt.Errorf("GET %s: status %d", url, resp.StatusCode))
	}
	sc := bufio.NewScanner(resp.Body)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
			if event == "end" {
				fmt.Println("(stream ended: the session stopped)")
				return
			}
		case strings.HasPrefix(line, "data: ") && event == "turn":
			var ev struct {
				Start, End    time.Time
				DisplayName   *string  `json:"display_name"`
				Score         *float64 `json:"score"`
				SpeechSeconds float64  `json:"speech_seconds"`
			}
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev); err != nil {
				fail(err)
			}
			name := "null (not an enrolled participant)"
			if ev.DisplayName != nil {
				name = *ev.DisplayName
			}
			score := "-"
			if ev.Score != nil {
				score = fmt.Sprintf("%.2f", *ev.Score)
			}
			fmt.Printf("%s–%s  %-36s score %6s  %.1f s of speech\n", ev.Start.Format("15:04:05.0"), ev.End.Format("15:04:05.0"), name, score, ev.SpeechSeconds)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "demo-http:", err)
	os.Exit(1)
}
