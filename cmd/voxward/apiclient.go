package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// apiFlags are --url and --token: commands that work on the vault while
// the daemon is stopped go through the daemon's API with them while it
// runs (bbolt lets one process hold the vault).
type apiFlags struct {
	url, token *string
}

func bindAPIFlags(fs *flag.FlagSet) apiFlags {
	return apiFlags{
		url:   fs.String("url", "", "go through a running daemon's API at this address (http://127.0.0.1:7480) instead of --state-dir"),
		token: fs.String("token", "", "with --url: an admin token"),
	}
}

func (f apiFlags) set() bool { return *f.url != "" }

// check refuses half-given or mixed flags.
func (f apiFlags) check(stateDir string) error {
	switch {
	case *f.url == "" && *f.token != "":
		return usagef("--token goes with --url")
	case *f.url != "" && *f.token == "":
		return usagef("--url needs --token (an admin token)")
	case *f.url != "" && stateDir != "":
		return usagef("give --state-dir (daemon stopped) or --url (daemon running), not both")
	case *f.url != "" && !strings.HasPrefix(*f.url, "http://") && !strings.HasPrefix(*f.url, "https://"):
		return usagef("--url %q: want http://HOST:PORT", *f.url)
	}
	return nil
}

// call sends a request with the admin token and decodes a 2xx JSON answer
// into out; an error answer becomes an error carrying its message.
func (f apiFlags) call(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(*f.url, "/")+path, rd)
	if err != nil {
		return fmt.Errorf("--url: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+*f.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("the daemon's API: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("the daemon's API: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("%s %s: %d %s: %s", method, path, resp.StatusCode, e.Error.Code, e.Error.Message)
		}
		return fmt.Errorf("%s %s: status %d", method, path, resp.StatusCode)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not what this voxward expects: %w", method, path, err)
	}
	return nil
}
