package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/voxward/voxward/vault"
)

func init() {
	register(&command{name: "token", summary: "create, list or revoke API tokens in the vault", run: runToken})
}

const tokenHelp = `
Manage the local API's bearer tokens in the vault of a state directory
while the daemon is stopped (bbolt allows one process), or, while it
runs, through its API with --url http://127.0.0.1:7480 --token ADMIN.

  create --role ROLE  a new token for admin, technician, kiosk or puller;
                      its secret is printed once, alone on the last line
                      (the vault keeps only its SHA-256)
  list                one token a line: id, role, created, revoked
  revoke ID           revoke a token at once

Roles: admin (everything), technician (sessions, subjects, enrolment,
status), kiosk (disclosure and consent only), puller (sync only).
`

func runToken(_ context.Context, sio *stdio, args []string) error {
	flags := newFlags(sio, "token", "token create --role ROLE | list | revoke ID  (--state-dir DIR | --url URL --token ADMIN)", tokenHelp)
	dir := flags.String("state-dir", "", "the state directory holding the vault (the daemon stopped)")
	api := bindAPIFlags(flags)
	role := flags.String("role", "", "create: the token's role (admin, technician, kiosk, puller)")
	kf := bindKeyFlags(flags)
	pos, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("want create, list or revoke")
	}
	sub := pos[0]
	switch sub {
	case "create", "list":
		if len(pos) != 1 {
			return usagef("token %s takes no argument", sub)
		}
	case "revoke":
		if len(pos) != 2 {
			return usagef("token revoke takes one token id")
		}
	default:
		return usagef("unknown token command %q: want create, list or revoke", sub)
	}
	if sub == "create" {
		switch *role {
		case vault.RoleAdmin, vault.RoleTechnician, vault.RoleKiosk, vault.RolePuller:
		case "":
			return usagef("token create needs --role (admin, technician, kiosk or puller)")
		default:
			return usagef("unknown role %q: want admin, technician, kiosk or puller", *role)
		}
	} else if *role != "" {
		return usagef("--role is for token create only")
	}
	if err := api.check(*dir); err != nil {
		return err
	}
	if api.set() {
		return tokenViaAPI(sio, api, sub, *role, pos)
	}
	if *dir == "" {
		return usagef("--state-dir (the daemon stopped) or --url and --token (it runs) is required")
	}
	key, err := kf.source()
	if err != nil {
		return err
	}
	if key == nil {
		key = vault.DefaultKeySource(*dir)
	}
	s, err := openStateVault(*dir, key)
	if err != nil {
		return err
	}
	defer s.Close()

	switch sub {
	case "create":
		tok, secret, err := s.CreateToken(cliActor, *role)
		if err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		printCreated(sio, tok.Role, tok.ID.String(), string(secret))
	case "list":
		toks, err := s.Tokens(cliActor)
		if err != nil {
			return fmt.Errorf("list tokens: %w", err)
		}
		printTokens(sio, toks)
	case "revoke":
		id, err := vault.ParseID(pos[1])
		if err != nil {
			return fmt.Errorf("token id %q: want 32 hex digits", pos[1])
		}
		if err := s.RevokeToken(cliActor, id); err != nil {
			return fmt.Errorf("revoke token %s: %w", id, err)
		}
		fmt.Fprintf(sio.out, "revoked %s\n", id)
	}
	return nil
}

func printCreated(sio *stdio, role, id, secret string) {
	fmt.Fprintf(sio.out, "created %s token %s (shown once; the vault keeps only its hash):\n", role, id)
	fmt.Fprintln(sio.out, secret)
}

func printTokens(sio *stdio, toks []vault.Token) {
	for _, t := range toks {
		revoked := "-"
		if !t.Revoked.IsZero() {
			revoked = "revoked " + t.Revoked.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(sio.out, "%s %-10s %s %s\n", t.ID, t.Role, t.Created.UTC().Format(time.RFC3339), revoked)
	}
}

// tokenViaAPI runs a token command through a running daemon's API; it
// prints what the offline command prints.
func tokenViaAPI(sio *stdio, api apiFlags, sub, role string, pos []string) error {
	switch sub {
	case "create":
		var c struct {
			TokenID string `json:"token_id"`
			Role    string `json:"role"`
			Token   string `json:"token"`
		}
		if err := api.call("POST", "/v1/tokens", map[string]string{"role": role}, &c); err != nil {
			return err
		}
		printCreated(sio, c.Role, c.TokenID, c.Token)
	case "list":
		var l struct {
			Tokens []vault.Token `json:"tokens"`
		}
		if err := api.call("GET", "/v1/tokens", nil, &l); err != nil {
			return err
		}
		printTokens(sio, l.Tokens)
	case "revoke":
		id, err := vault.ParseID(pos[1])
		if err != nil {
			return fmt.Errorf("token id %q: want 32 hex digits", pos[1])
		}
		if err := api.call("POST", "/v1/tokens/"+id.String()+"/revoke", nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(sio.out, "revoked %s\n", id)
	}
	return nil
}

// openStateVault opens the vault of an initialised state directory; a
// missing vault is an error that says to run init (vault.Open would create
// one), a locked one says the daemon holds it.
func openStateVault(dir string, key vault.KeySource) (*vault.Store, error) {
	path := filepath.Join(dir, vault.VaultFile)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no vault at %s (run \"voxward init --state-dir %s\" first)", path, dir)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s, err := vault.Open(path, &vault.Options{Key: key})
	if errors.Is(err, vault.ErrLocked) {
		return nil, fmt.Errorf("%w; stop the daemon first, or go through its API with --url http://127.0.0.1:7480 --token ADMIN_TOKEN", err)
	}
	return s, err
}
