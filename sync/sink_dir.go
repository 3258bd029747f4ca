package sync

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	stdsync "sync"

	"github.com/voxward/voxward/internal/atomicfile"
)

// DirSink stores batches in a directory:
//
//	DIR/<device>/<batch_id>.zst            the compressed body
//	DIR/<device>/<batch_id>.sig            the signature, base64, one line
//	DIR/<device>/<batch_id>.manifest.json  the manifest's exact signed bytes
//
// Each file is written to a temporary name, fsynced and renamed, and the
// directory is fsynced; the manifest comes last and is the commit mark: a
// batch whose manifest is there is whole. Writes under one device are
// serialised by an flock on DIR/<device>/.lock, so several pullers on one
// host (or one local file system) may share DIR.
type DirSink struct {
	dir string

	mu    stdsync.Mutex
	locks map[string]*stdsync.Mutex // per device, within this process
}

var _ Sink = (*DirSink)(nil)

// NewDirSink stores under dir, creating it (0750) if missing.
func NewDirSink(dir string) (*DirSink, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("sync: output directory: %w", err)
	}
	return &DirSink{dir: dir, locks: map[string]*stdsync.Mutex{}}, nil
}

// Paths returns where a batch's three files are (or would be).
func (s *DirSink) Paths(device, batchID string) (body, sig, manifest string) {
	base := filepath.Join(s.dir, device, batchID)
	return base + ".zst", base + ".sig", base + ".manifest.json"
}

// Store implements Sink. A batch already present with the same digest is
// not written again (a body or signature missing beside it, left by a
// crash, is repaired); a different body under the same id is ErrConflict.
func (s *DirSink) Store(ctx context.Context, b Batch) (bool, error) {
	m := b.Manifest
	if !ValidID(m.Device) || !ValidID(m.BatchID) {
		return false, fmt.Errorf("%w: device %q or batch id %q", ErrMalformed, m.Device, m.BatchID)
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	ddir := filepath.Join(s.dir, m.Device)
	if err := s.mkdevice(ddir); err != nil {
		return false, err
	}
	unlock, err := s.lock(ddir, m.Device)
	if err != nil {
		return false, err
	}
	defer unlock()
	// Under the lock no one else writes this device's files: temporary
	// files of this batch are a crashed writer's, and go.
	if stale, _ := filepath.Glob(filepath.Join(ddir, "."+m.BatchID+".*.tmp-*")); len(stale) > 0 {
		for _, f := range stale {
			_ = os.Remove(f)
		}
	}

	bodyPath, sigPath, manPath := s.Paths(m.Device, m.BatchID)
	sigText := []byte(base64.StdEncoding.EncodeToString(b.Signature) + "\n")
	old, err := os.ReadFile(manPath)
	switch {
	case err == nil:
		om, perr := ParseManifest(old)
		if perr != nil || om.SHA256 != m.SHA256 || om.Bytes != m.Bytes {
			return false, fmt.Errorf("%w: %s holds batch %s of device %s with sha256 %s; the box now serves sha256 %s",
				ErrConflict, manPath, m.BatchID, m.Device, om.SHA256, m.SHA256)
		}
		// Committed: repair what a crash or a hand may have removed.
		if cur, err := os.ReadFile(bodyPath); err != nil || Digest(cur) != m.SHA256 {
			if err := writeDurable(bodyPath, b.Body); err != nil {
				return false, err
			}
		}
		if cur, err := os.ReadFile(sigPath); err != nil || !bytes.Equal(cur, sigText) {
			if err := writeDurable(sigPath, sigText); err != nil {
				return false, err
			}
		}
		return true, atomicfile.SyncDir(ddir)
	case !errors.Is(err, os.ErrNotExist):
		return false, fmt.Errorf("sync: %w", err)
	}
	if err := writeDurable(bodyPath, b.Body); err != nil {
		return false, err
	}
	if err := writeDurable(sigPath, sigText); err != nil {
		return false, err
	}
	// The body and signature renames are durable before the manifest,
	// the commit mark, appears.
	if err := atomicfile.SyncDir(ddir); err != nil {
		return false, fmt.Errorf("sync: fsync %s: %w", ddir, err)
	}
	if err := writeDurable(manPath, b.ManifestBytes); err != nil {
		return false, err
	}
	if err := atomicfile.SyncDir(ddir); err != nil {
		return false, fmt.Errorf("sync: fsync %s: %w", ddir, err)
	}
	return false, nil
}

// mkdevice creates a device's directory durably.
func (s *DirSink) mkdevice(ddir string) error {
	if _, err := os.Stat(ddir); err == nil {
		return nil
	}
	if err := os.Mkdir(ddir, 0o750); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("sync: %w", err)
	}
	return atomicfile.SyncDir(s.dir)
}

// lock holds the device's in-process mutex and its lock file.
func (s *DirSink) lock(ddir, device string) (func(), error) {
	s.mu.Lock()
	mu := s.locks[device]
	if mu == nil {
		mu = new(stdsync.Mutex)
		s.locks[device] = mu
	}
	s.mu.Unlock()
	mu.Lock()
	unlockFile, err := lockFile(filepath.Join(ddir, ".lock"))
	if err != nil {
		mu.Unlock()
		return nil, fmt.Errorf("sync: lock %s: %w", ddir, err)
	}
	return func() { unlockFile(); mu.Unlock() }, nil
}

// writeDurable replaces path with b (mode 0640), fsynced; the caller
// fsyncs the directory.
func writeDurable(path string, b []byte) error {
	if err := atomicfile.Replace(path, b, 0o640); err != nil {
		return fmt.Errorf("sync: write %s: %w", path, err)
	}
	return nil
}
