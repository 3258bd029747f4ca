// Package vault is voxward's encrypted store: a bbolt file in which every
// value is sealed under a data key of its own scope (a subject, a
// de-identified template, a session, or the system), so that erasing is
// destroying a key. bbolt never zeroes freed pages and its backups copy
// them; crypto-shredding is what makes a deletion real, compaction tidies
// up afterwards.
//
// # State directory
//
//	DIR/vault.db       the bbolt file (mode 0600): every value sealed
//	DIR/vault.keyring  the keyring (mode 0600): the random salt of the
//	                   current key-encryption epoch, MACed with a key
//	                   derived from the master secret
//	DIR/master.key     the master secret (mode 0600, 64 hex digits) when no
//	                   other key source is configured
//
// The master secret is never in the vault file. It comes from a file that
// only its owner may read (FileKey; a wider mode is refused with
// ErrKeyPermissions), a systemd credential (CredentialKey, read from
// $CREDENTIALS_DIRECTORY/voxward-master-key), or, for development only, an
// environment variable (EnvKey). DefaultKeySource picks the credential when
// it exists, else DIR/master.key; CreateKeyFile makes a new one, so that
// "voxward init" is:
//
//	vault.CreateKeyFile(filepath.Join(dir, vault.MasterKeyFile))
//	s, err := vault.Open(filepath.Join(dir, vault.VaultFile), &vault.Options{Key: vault.DefaultKeySource(dir)})
//	_, admin, err := s.CreateToken(vault.SystemActor, vault.RoleAdmin)
//	err = s.PutSystemSecret(vault.SystemActor, "sync.signing_key", ed25519Seed)
//
// # Keys
//
//	root   = HKDF-SHA256(master secret, salt = vault id, "voxward/vault/v1/root")
//	KEK(e) = HKDF-SHA256(root, salt = keyring salt of epoch e, "…/kek" | vault id | e)
//	DEK    = 32 random bytes per scope, stored wrapped: AES-256-GCM under KEK(e),
//	         additional data = vault id | key id | e
//	value  = format | schema version | nonce | AES-256-GCM(DEK, plaintext,
//	         additional data = bucket | record key | record type | schema version)
//
// A ciphertext moved to another key, bucket or type, or altered in any
// byte, fails to open (ErrCorrupt). Record keys are random 16-byte ids
// (subject-scoped records: subject id | record id); bucket names are short
// fixed words. No name or contact reaches a key, a bucket name, a log line
// or an error; types that hold secrets or identifiers implement
// slog.LogValuer and redact.
//
// Erasing a subject (EraseSubject) deletes its wrapped data key first, then
// its records, audits, schedules compaction and rotates the KEK epoch
// (RotateKey): a fresh salt, every live key re-wrapped, the old salt
// removed from the keyring. From then on no copy of the vault file made
// before the erasure — freed pages, backups, a stolen copy — opens the
// erased subject's records with the keys that remain, and in fact no such
// copy opens at all: take a new backup after every rotation. Rotation is
// crash-safe: the keyring holds both salts until the re-wrapping
// transaction commits, and Open finishes an interrupted rotation.
//
// # Audit
//
// Every access to biometric data appends an entry (actor token id and role,
// action, record id, purpose, time, result) to a SHA-256 hash chain in the
// same transaction as the access; failed accesses are audited too. The head
// is signed with an Ed25519 key derived from the root key (a signed
// checkpoint), so a rewritten or truncated chain shows even when every link
// was recomputed. Verify and VerifyAudit pinpoint the first broken entry.
// Entries hold random ids and labels, never names.
//
// # Retention
//
// ApplyRetention is the mechanism, driven by the store's clock (Options.Now)
// and a RetentionPolicy from the agent: after the identifiable window
// (≤ 30 days) a subject's templates become de-identified templates — a
// fresh random id, their own data key, last interaction frozen to the UTC
// day, no link to the subject but the hash of the subject-held deletion
// token — and everything else about the subject is crypto-shredded;
// de-identified templates and sessions are shredded after their windows.
// It is idempotent and safe to run at every start.
//
// A subject's consent history is sealed under its key and so is destroyed
// with it; what remains of a consent event is its pseudonymous audit entry
// (consent id, time, technician token, result).
//
// # Disk budget, crash safety, read-only use
//
// bbolt commits with fsync; Open uses a lock timeout (ErrLocked for a
// second process), the hashmap freelist, and Options.MaxSize as the disk
// budget: a write past it fails with ErrFull and is rolled back whole. A
// file system with no space left (ENOSPC, or EDQUOT) under the vault file
// or its keyring is ErrFull as well, so callers handle one error for "no
// room"; the budget, set below the free space, is what keeps room for
// the reserve.
// Ordinary writes stop short of the budget by a reserve (an eighth of it,
// at least 64 KiB and four times the wrapped keys) that only erasures,
// withdrawals, retention, rotation and revocation may use, so a full vault
// can always forget somebody. Reads of biometric data append audit entries
// and so fail closed (ErrFull) on a full vault. Raw recordings are stored in
// sealed chunks of under 2 KiB so that no page holds a whole recording and
// erasing one never copies its neighbours.
//
// Opening an intact vault writes nothing; Options.ReadOnly takes a shared
// lock and writes nothing at all (verify, inspect, backup). A read-write
// Open finishes an interrupted rotation and removes temporary files a
// crash left behind (a temporary keyring may hold a salt meant to be
// destroyed). The kill -9 test (make crash) re-opens and verifies the
// vault after killing a writer at random points.
//
// Limits: the keyring is replaced by rename, so an old salt may survive
// in the file system's free blocks until they are reused; on flash storage
// nothing can be overwritten for sure. A TPM-sealed or hardware key source
// closes that gap and fits the KeySource interface. Rolling the whole
// state directory back to an older copy cannot be detected from inside it.
package vault
