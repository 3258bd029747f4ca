//go:build ignore

// demo-http is the demo's HTTP client, so that scripts/demo.sh needs only
// Go (a fresh Debian box may lack curl and jq):
//
//	go run scripts/demo-http.go [-token T] [-host H] [-expect CODE] [-get a.b.c] METHOD URL [JSON]
//
// It prints the response body (or, with -get, one field of the JSON body)
// and exits 1 when the status is not -expect (default: any 2xx).
package main

import (
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
	flag.Parse()
	if flag.NArg() < 2 || flag.NArg() > 3 {
		fmt.Fprintln(os.Stderr, "usage: demo-http [-token T] [-host H] [-expect CODE] [-get a.b] METHOD URL [JSON]")
		os.Exit(2)
	}
	var body io.Reader
	if flag.NArg() == 3 {
		body = strings.NewReader(flag.Arg(2))
	}
	req, err := http.NewRequest(flag.Arg(0), flag.Arg(1), body)
	if err != nil {
		fail(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
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
		b, _ := json.Marshal(v)
		out = string(b)
	}
	fmt.Println(out)
	if !ok {
		fmt.Fprintf(os.Stderr, "demo-http: %s %s: status %d\n", flag.Arg(0), flag.Arg(1), resp.StatusCode)
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "demo-http:", err)
	os.Exit(1)
}
