package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/voxward/voxward/agent"
	"github.com/voxward/voxward/vault"
)

func init() {
	register(&command{name: "init", summary: "create a state directory: vault, master key, device key, admin token", run: runInit})
}

const initHelp = `
Create a new state directory for the daemon:

  DIR/master.key   the vault's master secret (mode 0600), unless a key
                   source is configured: the systemd credential
                   voxward-master-key in $CREDENTIALS_DIRECTORY, --key-file
                   or --key-env (development only)
  DIR/vault.db     the encrypted vault, with DIR/vault.keyring
  DIR/device.key   the device's Ed25519 signing key (PKCS#8 PEM, mode 0600)

and an admin token, stored in the vault as a hash only and printed once,
alone on the last line of stdout. Keep it: it cannot be shown again (make
another with "voxward token create --role admin").

init refuses a directory that already holds a vault.
`

// keyFlags are the master key flags shared by init, token and serve.
type keyFlags struct {
	file, env *string
}

func bindKeyFlags(fs *flag.FlagSet) keyFlags {
	return keyFlags{
		file: fs.String("key-file", "", "read the master key from this file (mode 0600) instead of the default"),
		env:  fs.String("key-env", "", "read the master key (hex) from this environment variable: development only"),
	}
}

// source returns the configured key source, or nil when none is
// configured (then DIR/master.key is the default).
func (k keyFlags) source() (vault.KeySource, error) {
	switch {
	case *k.file != "" && *k.env != "":
		return nil, usagef("--key-file and --key-env exclude each other")
	case *k.file != "":
		return vault.FileKey(*k.file), nil
	case *k.env != "":
		return vault.EnvKey(*k.env), nil
	}
	return nil, nil
}

func runInit(_ context.Context, sio *stdio, args []string) error {
	flags := newFlags(sio, "init", "init --state-dir DIR [--key-file FILE | --key-env VAR]", initHelp)
	dir := flags.String("state-dir", "", "the state directory to create (required)")
	kf := bindKeyFlags(flags)
	pos, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *dir == "" {
		return usagef("--state-dir is required")
	}
	key, err := kf.source()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	dbPath := filepath.Join(*dir, vault.VaultFile)
	if _, err := os.Stat(dbPath); err == nil {
		return fmt.Errorf("%s already holds a vault; init does nothing to an existing state directory", *dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", dbPath, err)
	}

	created := false
	if key == nil {
		key = vault.DefaultKeySource(*dir)
		if _, isCred := key.(vault.CredentialKey); !isCred {
			keyPath := filepath.Join(*dir, vault.MasterKeyFile)
			switch err := vault.CreateKeyFile(keyPath); {
			case err == nil:
				created = true
				fmt.Fprintf(sio.out, "created master key %s (mode 0600)\n", keyPath)
			case errors.Is(err, fs.ErrExist):
			default:
				return fmt.Errorf("create master key: %w", err)
			}
		}
	}
	if !created {
		fmt.Fprintf(sio.out, "master key from %s\n", key.Describe())
	}

	devPath := filepath.Join(*dir, agent.DeviceKeyFile)
	pub, err := agent.CreateDeviceKey(devPath)
	switch {
	case err == nil:
		fmt.Fprintf(sio.out, "created device signing key %s (Ed25519, mode 0600), device id %s\n", devPath, agent.DeviceID(pub))
	case errors.Is(err, fs.ErrExist):
		priv, lerr := agent.LoadDeviceKey(devPath)
		if lerr != nil {
			return lerr
		}
		fmt.Fprintf(sio.out, "using the existing device signing key %s, device id %s\n", devPath, agent.DeviceID(priv.Public().(ed25519.PublicKey)))
	default:
		return err
	}

	s, err := vault.Open(dbPath, &vault.Options{Key: key})
	if err != nil {
		return err
	}
	_, secret, err := s.CreateToken(cliActor, vault.RoleAdmin)
	if cerr := s.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("create admin token: %w", err)
	}
	fmt.Fprintf(sio.out, "created vault %s\n", dbPath)
	fmt.Fprintln(sio.out, "admin token (shown once; the vault keeps only its hash):")
	fmt.Fprintln(sio.out, string(secret))
	return nil
}
