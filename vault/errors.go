package vault

import (
	"errors"
	"fmt"
)

// Errors returned by the vault. Callers test for them with errors.Is; the
// messages never contain a name, a contact, a key or a template.
var (
	// ErrLocked means another process holds the vault file open (bbolt
	// allows one writer process): the daemon is probably running.
	ErrLocked = errors.New("vault: in use by another process (is voxward serve running?)")
	// ErrFull means there is no room for the write: it would grow the
	// vault file past its disk budget (Options.MaxSize), or the file
	// system has no space left (ENOSPC, EDQUOT) for the vault file or its
	// keyring. The transaction was rolled back whole.
	ErrFull = errors.New("vault: full")
	// ErrOutboxFull means the outbox and the sealed batches waiting for a
	// puller have reached their budget (Options.OutboxMaxBytes): the new
	// records were refused, the old ones are kept.
	ErrOutboxFull = errors.New("vault: outbox full")
	// ErrNotFound means no record with that id exists (or it was erased).
	ErrNotFound = errors.New("vault: not found")
	// ErrWrongKey means the master secret does not open this vault's keyring
	// or system key.
	ErrWrongKey = errors.New("vault: wrong master key")
	// ErrKeyPermissions means a master key file is readable by group or
	// others; the vault refuses to use it.
	ErrKeyPermissions = errors.New("vault: master key file must not be readable by group or others (chmod 600)")
	// ErrNoKey means no master secret could be read from the key source.
	ErrNoKey = errors.New("vault: no master key")
	// ErrKeyDestroyed means a record's data key has been destroyed
	// (crypto-shredded) or its key-encryption epoch is no longer held.
	ErrKeyDestroyed = errors.New("vault: data key destroyed or unavailable")
	// ErrCorrupt means a stored value failed authentication or could not
	// be decoded: it was altered, truncated, moved or swapped.
	ErrCorrupt = errors.New("vault: corrupt or tampered record")
	// ErrAuditBroken means the audit chain does not verify; see *AuditError
	// for the first broken entry.
	ErrAuditBroken = errors.New("vault: audit chain broken")
	// ErrSchemaTooNew means the vault was written by a newer voxward.
	ErrSchemaTooNew = errors.New("vault: schema is newer than this program")
	// ErrKeyring means the keyring file is missing, malformed or belongs to
	// another vault.
	ErrKeyring = errors.New("vault: keyring")
	// ErrInvalid means an argument was rejected (empty id, bad role, a
	// string too long); nothing was written.
	ErrInvalid = errors.New("vault: invalid argument")
	// ErrReadOnly means a write was asked of a Store opened read-only.
	ErrReadOnly = errors.New("vault: opened read-only")
	// ErrClosed means the Store has been closed.
	ErrClosed = errors.New("vault: closed")
)

// AuditError pinpoints the first audit entry that fails verification.
type AuditError struct {
	Seq    uint64 // sequence number of the first broken entry (1-based)
	Reason string // what failed: "hash mismatch", "broken link", ...
}

// Error implements error.
func (e *AuditError) Error() string {
	return fmt.Sprintf("vault: audit entry %d: %s", e.Seq, e.Reason)
}

// Unwrap makes errors.Is(err, ErrAuditBroken) hold.
func (e *AuditError) Unwrap() error { return ErrAuditBroken }

// RecordError names a record (by kind and random id, never by content) that
// failed to open.
type RecordError struct {
	Kind string // record kind: "subject", "template", ...
	ID   string // the record's random id, hex
	Err  error  // ErrCorrupt, ErrKeyDestroyed, ...
}

// Error implements error.
func (e *RecordError) Error() string {
	return fmt.Sprintf("vault: %s %s: %v", e.Kind, e.ID, e.Err)
}

// Unwrap returns the underlying error.
func (e *RecordError) Unwrap() error { return e.Err }
