package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/voxward/voxward/vault"
)

func init() {
	register(&command{name: "vault", summary: "verify, inspect, compact, rotate-key or back up the vault offline", run: runVault})
}

// cliActor is who the offline vault commands act as in the audit log: the
// operator with access to the state directory.
var cliActor = vault.Actor{TokenID: "cli", Role: "admin", Purpose: "maintenance"}

const vaultHelp = `
Work on the vault in a state directory directly, while the daemon is
stopped (bbolt allows one process; with the daemon running these commands
say so and exit 1).

  verify      check that every record decrypts, every data key belongs to
              a record and every record has its key, the file structure
              is sound and the audit chain links to its signed checkpoint;
              read-only. Exit 0 only if all hold, else list the problems
              (records by kind and random id, the first broken audit
              entry) and exit 1
  inspect     counts and sizes per record kind, epoch, schema, free pages,
              as JSON; read-only, decrypts nothing, never shows an
              identifier
  compact     rewrite the file without its freed pages (temporary file,
              fsync, rename, directory fsync); prints sizes before and after
  rotate-key  start a new key-encryption epoch: re-wrap every data key and
              destroy the old epoch's salt, which makes every older copy
              of the vault file (backups included) unreadable
  backup      write a consistent copy to --out (a read transaction's
              WriteTo, temporary file, fsync, rename); read-only. The copy
              opens with the state directory's keyring until the next key
              rotation only: an erasure's rotation makes older backups
              unreadable, which is how an erasure reaches them.

The master key comes from the systemd credential voxward-master-key when
$CREDENTIALS_DIRECTORY has it, else DIR/master.key; --key-file or
--key-env (development only) override that.
`

func runVault(_ context.Context, sio *stdio, args []string) error {
	flags := newFlags(sio, "vault", "vault verify|inspect|compact|rotate-key|backup --state-dir DIR [--out FILE]", vaultHelp)
	dir := flags.String("state-dir", "", "the state directory holding "+vault.VaultFile+" and "+vault.KeyringFile)
	keyFile := flags.String("key-file", "", "read the master key from this file (mode 0600) instead of the default")
	keyEnv := flags.String("key-env", "", "read the master key (hex) from this environment variable: development only")
	out := flags.String("out", "", "backup: the file to write")
	api := bindAPIFlags(flags)
	pos, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one of verify, inspect, compact, rotate-key, backup")
	}
	sub := pos[0]
	switch sub {
	case "verify", "inspect", "compact", "rotate-key", "backup":
	default:
		return usagef("unknown vault command %q: want verify, inspect, compact, rotate-key or backup", sub)
	}
	if err := api.check(*dir); err != nil {
		return err
	}
	if api.set() {
		if sub != "verify" {
			return usagef("vault %s needs the daemon stopped (--state-dir); only verify goes through --url", sub)
		}
		return verifyViaAPI(sio, api)
	}
	if *dir == "" {
		return usagef("--state-dir is required (or, for verify while the daemon runs, --url and --token)")
	}
	if *keyFile != "" && *keyEnv != "" {
		return usagef("--key-file and --key-env exclude each other")
	}
	if sub == "backup" && *out == "" {
		return usagef("backup needs --out FILE")
	}
	if sub != "backup" && *out != "" {
		return usagef("--out is for backup only")
	}
	var key vault.KeySource = vault.DefaultKeySource(*dir)
	switch {
	case *keyFile != "":
		key = vault.FileKey(*keyFile)
	case *keyEnv != "":
		key = vault.EnvKey(*keyEnv)
	}
	path := filepath.Join(*dir, vault.VaultFile)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no vault at %s (run \"voxward init --state-dir %s\" first)", path, *dir)
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	// verify, inspect and backup read only: they change nothing in the
	// file, not even the audit log, and may run beside each other.
	readOnly := sub == "verify" || sub == "inspect" || sub == "backup"
	s, err := vault.Open(path, &vault.Options{Key: key, ReadOnly: readOnly})
	if err != nil {
		return err
	}
	defer s.Close()

	switch sub {
	case "verify":
		rep, err := s.Verify()
		if err != nil {
			return err
		}
		total := 0
		for _, n := range rep.Records {
			total += n
		}
		if !rep.OK() {
			for _, p := range rep.Problems {
				fmt.Fprintf(sio.out, "problem: %s\n", p)
			}
			return fmt.Errorf("%s does not verify: %d problem(s)", path, len(rep.Problems))
		}
		fmt.Fprintf(sio.out, "ok: %d records, %d data keys, %d audit entries, key epoch %d\n", total, rep.DataKeys, rep.AuditEntries, rep.Epoch)
	case "inspect":
		st, err := s.Stats()
		if err != nil {
			return err
		}
		enc := json.NewEncoder(sio.out)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	case "compact":
		before, after, err := s.Compact()
		if err != nil {
			return err
		}
		fmt.Fprintf(sio.out, "compacted %s: %d → %d bytes\n", path, before, after)
	case "rotate-key":
		epoch, err := s.RotateKey(cliActor)
		if err != nil {
			return err
		}
		fmt.Fprintf(sio.out, "key epoch %d; copies of the vault made before now no longer open\n", epoch)
	case "backup":
		n, err := s.BackupFile(*out)
		if err != nil {
			return err
		}
		fmt.Fprintf(sio.out, "wrote %d bytes to %s\n", n, *out)
	}
	return nil
}

// verifyViaAPI asks a running daemon to check its audit chain (GET
// /v1/audit/verify). The full check — every record decrypts, no orphan
// keys — needs the vault file, so the daemon stopped.
func verifyViaAPI(sio *stdio, api apiFlags) error {
	var res struct {
		OK          bool   `json:"ok"`
		Entries     uint64 `json:"entries"`
		FirstBroken *struct {
			Seq    uint64 `json:"seq"`
			Reason string `json:"reason"`
		} `json:"first_broken"`
	}
	if err := api.call("GET", "/v1/audit/verify", nil, &res); err != nil {
		return err
	}
	if !res.OK {
		if res.FirstBroken != nil {
			return fmt.Errorf("the audit chain is broken at entry %d: %s", res.FirstBroken.Seq, res.FirstBroken.Reason)
		}
		return errors.New("the audit chain does not verify")
	}
	fmt.Fprintf(sio.out, "ok: the audit chain of %d entries links (checked by the running daemon; stop it and use --state-dir for the full check of every record)\n", res.Entries)
	return nil
}
