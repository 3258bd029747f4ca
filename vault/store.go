package vault

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// VaultFile is the default name of the vault file in a state directory.
const VaultFile = "vault.db"

// SchemaVersion is the schema this program writes. Open migrates an older
// vault up to it and refuses a newer one with ErrSchemaTooNew.
const SchemaVersion uint16 = 1

// DefaultLockTimeout is how long Open waits for another process to release
// the vault file before it fails with ErrLocked.
const DefaultLockTimeout = time.Second

// Options configure Open. A nil *Options is not allowed: Key is required.
type Options struct {
	// Key yields the master secret (required): FileKey, CredentialKey,
	// EnvKey (development only) or DefaultKeySource(dir).
	Key KeySource
	// KeyringPath is the keyring file; default: vault.keyring beside the
	// vault file.
	KeyringPath string
	// LockTimeout bounds the wait for the file lock (default 1 s).
	LockTimeout time.Duration
	// MaxSize is the disk budget in bytes (0: none). A write that would
	// grow the file past it fails with ErrFull and is rolled back whole.
	// Ordinary writes stop a reserve short of it (see checkHeadroom) so
	// that erasures, withdrawals, retention and rotation always fit.
	MaxSize int64
	// OutboxMaxBytes is the budget of the sync outbox: the outbox entries
	// and the sealed batches not yet acknowledged, counted as stored
	// (sealed) bytes (0: none). AppendOutbox refuses records past it with
	// ErrOutboxFull and keeps what it holds.
	OutboxMaxBytes int64
	// Now is the clock (default time.Now). Retention and audit times use it.
	Now func() time.Time
	// Logger receives operational messages (default: discard). Nothing
	// identifying is ever logged.
	Logger *slog.Logger
	// ReadOnly opens the file with a shared lock and writes nothing, not
	// even audit entries: for verify, inspect and backup. Methods that
	// write fail with ErrReadOnly; an interrupted rotation is reported by
	// Verify, not finished.
	ReadOnly bool
}

// Store is an open vault. Its methods are safe for concurrent use.
type Store struct {
	path        string
	keyringPath string
	maxSize     int64
	outboxMax   int64
	lockTimeout time.Duration
	now         func() time.Time
	log         *slog.Logger
	schema      uint16
	readOnly    bool

	// Set once by Open, read-only afterwards.
	vaultID  ID
	root     []byte // root key derived from the master secret
	ringMAC  []byte // keyring MAC key
	auditKey ed25519.PrivateKey

	// rotMu serializes key rotations, keyring writes and compaction.
	rotMu sync.Mutex

	// kmu guards keks.
	kmu  sync.RWMutex
	keks map[uint32][]byte // epoch → KEK, only epochs in the keyring

	// dbMu is held shared by every transaction and exclusively while
	// compaction swaps the file.
	dbMu   sync.RWMutex
	db     atomic.Pointer[bolt.DB]
	closed atomic.Bool

	// commitFault, when set (by tests, before use), is called as a write
	// transaction is about to commit; an error it returns fails the
	// commit as a failed write of the file would (ENOSPC, EIO).
	commitFault func() error
}

// bucket names: short, fixed and meaningless to an outsider.
const (
	bMeta     = "meta"
	bKeys     = "keys"
	bAudit    = "audit"
	bTokenIdx = "tokh"
)

var (
	mVaultID    = []byte("vault_id")
	mSchema     = []byte("schema")
	mEpoch      = []byte("epoch")
	mCreated    = []byte("created")
	mRotateDue  = []byte("rotate_due")
	mCompactDue = []byte("compact_due")
	mRotated    = []byte("rotated") // when the current KEK epoch began (RFC 3339)
	mAuditHead  = []byte("audit_head")
)

// Open opens the vault file at path, creating it (and its keyring) when it
// does not exist. It fails with ErrLocked when another process holds it,
// ErrNoKey / ErrKeyPermissions when the master secret cannot be read,
// ErrWrongKey when the secret does not fit, ErrSchemaTooNew for a vault
// from a newer program, ErrKeyring for a missing or foreign keyring.
// Open finishes a key rotation that a crash interrupted.
func Open(path string, opts *Options) (*Store, error) {
	if opts == nil || opts.Key == nil {
		return nil, fmt.Errorf("%w: vault.Open needs Options.Key", ErrInvalid)
	}
	s := &Store{
		path:        path,
		keyringPath: opts.KeyringPath,
		maxSize:     opts.MaxSize,
		outboxMax:   opts.OutboxMaxBytes,
		lockTimeout: opts.LockTimeout,
		now:         opts.Now,
		log:         opts.Logger,
		schema:      SchemaVersion,
		readOnly:    opts.ReadOnly,
		keks:        map[uint32][]byte{},
	}
	if s.keyringPath == "" {
		s.keyringPath = filepath.Join(filepath.Dir(path), KeyringFile)
	}
	if s.lockTimeout <= 0 {
		s.lockTimeout = DefaultLockTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "vault")
	if _, ok := opts.Key.(EnvKey); ok {
		s.log.Warn("master key from the environment: for development only")
	}
	master, err := opts.Key.MasterSecret()
	if err != nil {
		return nil, err
	}
	defer zero(master)

	db, err := s.openBolt(path)
	if err != nil {
		return nil, err
	}
	s.db.Store(db)
	if !s.readOnly {
		s.cleanTemps()
	}
	if err := s.init(master); err != nil {
		db.Close()
		s.wipe()
		return nil, err
	}
	return s, nil
}

// cleanTemps removes what a crash left of an atomic write: a temporary
// keyring may hold a salt that a rotation meant to destroy, a temporary
// compaction file old ciphertext. The caller holds the file lock, so no
// writer of ours is using them.
func (s *Store) cleanTemps() {
	for _, pat := range []string{
		filepath.Join(filepath.Dir(s.keyringPath), "."+filepath.Base(s.keyringPath)+".tmp-*"),
		filepath.Join(filepath.Dir(s.path), "."+filepath.Base(s.path)+".compact-*"),
	} {
		m, _ := filepath.Glob(pat)
		for _, f := range m {
			if err := os.Remove(f); err != nil {
				s.log.Warn("leftover temporary file not removed", "file", f, "err", err)
			}
		}
	}
}

func (s *Store) openBolt(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        s.lockTimeout,
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: false,
		NoSync:         false,
		NoGrowSync:     false,
		MaxSize:        int(min(s.maxSize, math.MaxInt)), // a 32-bit box caps it
		ReadOnly:       s.readOnly,
	})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, fmt.Errorf("vault: open %s: %w", path, mapErr(err))
	}
	return db, nil
}

// init creates or checks the meta data, loads the keyring and finishes an
// interrupted rotation. It writes only what is missing, so opening an
// intact vault changes nothing in the file; a read-only Store writes
// nothing at all.
func (s *Store) init(master []byte) error {
	db := s.db.Load()
	// Step 1: the meta bucket and vault id.
	var have bool
	if err := db.View(func(tx *bolt.Tx) error {
		if m := tx.Bucket([]byte(bMeta)); m != nil && len(m.Get(mVaultID)) == 16 {
			copy(s.vaultID[:], m.Get(mVaultID))
			have = true
		}
		return nil
	}); err != nil {
		return fmt.Errorf("vault: open %s: %w", s.path, mapErr(err))
	}
	fresh := false
	if !have {
		if s.readOnly {
			return fmt.Errorf("%w: %s is not a voxward vault", ErrCorrupt, s.path)
		}
		if _, err := os.Stat(s.keyringPath); err == nil {
			return fmt.Errorf("%w: %s exists but the vault file is new; move the keyring away or restore its vault", ErrKeyring, s.keyringPath)
		}
		fresh = true
		s.vaultID = NewID()
		if err := db.Update(func(tx *bolt.Tx) error {
			m, err := tx.CreateBucketIfNotExists([]byte(bMeta))
			if err != nil {
				return err
			}
			for _, kv := range [][2][]byte{
				{mVaultID, s.vaultID[:]},
				{mSchema, binary.BigEndian.AppendUint16(nil, SchemaVersion)},
				{mEpoch, binary.BigEndian.AppendUint32(nil, 1)},
				{mCreated, []byte(s.now().UTC().Format(time.RFC3339))},
			} {
				if err := m.Put(kv[0], kv[1]); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("vault: create %s: %w", s.path, mapErr(err))
		}
	}
	var err error
	if s.root, err = deriveRoot(master, s.vaultID); err != nil {
		return fmt.Errorf("vault: derive keys: %w", err)
	}
	if s.ringMAC, err = deriveSubkey(s.root, labelKeyringMAC); err != nil {
		return fmt.Errorf("vault: derive keys: %w", err)
	}
	seed, err := deriveSubkey(s.root, labelAuditMAC)
	if err != nil {
		return fmt.Errorf("vault: derive keys: %w", err)
	}
	s.auditKey = ed25519.NewKeyFromSeed(seed)
	zero(seed)

	// Step 2: buckets, schema and migrations.
	if err := s.ensureBuckets(); err != nil {
		return err
	}
	if err := s.migrate(builtinMigrations, SchemaVersion); err != nil {
		return err
	}

	// Step 3: the keyring.
	epoch, nkeys, err := s.epochAndKeyCount()
	if err != nil {
		return err
	}
	ring, err := readKeyring(s.keyringPath, s.ringMAC)
	switch {
	case errors.Is(err, fs.ErrNotExist) && nkeys == 0 && !s.readOnly:
		// A fresh vault, or a crash before its first keyring was written:
		// nothing was ever sealed, so a new salt is safe.
		ring = &keyring{VaultID: s.vaultID, Epochs: []keyringEpoch{{Epoch: epoch, Salt: randomBytes(keySize)}}}
		if err := writeKeyring(s.keyringPath, ring, s.ringMAC); err != nil {
			return err
		}
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %s is missing; without it the vault cannot be opened", ErrKeyring, s.keyringPath)
	case err != nil:
		return err
	}
	if ring.VaultID != s.vaultID {
		return fmt.Errorf("%w: %s belongs to another vault", ErrKeyring, s.keyringPath)
	}
	if ring.salt(epoch) == nil {
		return fmt.Errorf("%w: %s does not hold epoch %d of this vault (restored from a backup older than the last key rotation?)", ErrKeyDestroyed, s.keyringPath, epoch)
	}
	if len(ring.Epochs) > 1 && !s.readOnly {
		// A rotation was interrupted: keep only the epoch the vault uses.
		ring.Epochs = []keyringEpoch{{Epoch: epoch, Salt: ring.salt(epoch)}}
		if err := writeKeyring(s.keyringPath, ring, s.ringMAC); err != nil {
			return err
		}
	}
	kek, err := deriveKEK(s.root, s.vaultID, epoch, ring.salt(epoch))
	if err != nil {
		return fmt.Errorf("vault: derive keys: %w", err)
	}
	s.keks[epoch] = kek

	// Step 4: the system key, and a check that the keys fit.
	var hasSystem bool
	if err := s.view(func(t *txn) error {
		if t.keys().Get(systemKeyID[:]) == nil {
			return nil
		}
		hasSystem = true
		_, err := t.dataKey(systemKeyID)
		return err
	}); err != nil {
		if errors.Is(err, ErrCorrupt) {
			return fmt.Errorf("%w: the system key does not open", ErrWrongKey)
		}
		return fmt.Errorf("vault: open %s: %w", s.path, err)
	}
	if !hasSystem {
		if s.readOnly {
			return fmt.Errorf("%w: %s has no system key", ErrCorrupt, s.path)
		}
		if err := s.updateReserved(func(t *txn) error {
			_, err := t.newDataKey(systemKeyID)
			return err
		}); err != nil {
			return fmt.Errorf("vault: open %s: %w", s.path, err)
		}
	}
	if fresh {
		s.log.Info("vault created", "vault_id", s.vaultID.String())
	}

	// Step 5: finish what a crash interrupted.
	var due bool
	if err := s.view(func(t *txn) error { due = t.meta().Get(mRotateDue) != nil; return nil }); err != nil {
		return err
	}
	if due && !s.readOnly {
		if _, err := s.rotate(SystemActor); err != nil {
			return fmt.Errorf("vault: finish interrupted key rotation: %w", err)
		}
	}
	return nil
}

func bucketNames() []string {
	names := []string{bMeta, bKeys, bAudit, bTokenIdx}
	for _, k := range kinds {
		names = append(names, k.bucket)
	}
	return names
}

// ensureBuckets creates the buckets a vault needs (a new schema may add
// some). A read-only Store reports a missing one as ErrCorrupt.
func (s *Store) ensureBuckets() error {
	var missing []string
	if err := s.db.Load().View(func(tx *bolt.Tx) error {
		for _, n := range bucketNames() {
			if tx.Bucket([]byte(n)) == nil {
				missing = append(missing, n)
			}
		}
		return nil
	}); err != nil {
		return mapErr(err)
	}
	if len(missing) == 0 {
		return nil
	}
	if s.readOnly {
		if len(missing) == 1 && missing[0] == kBatch.bucket {
			// Added with sync batches: the vault predates them.
			return fmt.Errorf("%w: %s was made before sync batches; open it read-write once (start the daemon) to add their bucket", ErrReadOnly, s.path)
		}
		return fmt.Errorf("%w: %s lacks %d bucket(s)", ErrCorrupt, s.path, len(missing))
	}
	return mapErr(s.db.Load().Update(func(tx *bolt.Tx) error {
		for _, n := range missing {
			if _, err := tx.CreateBucketIfNotExists([]byte(n)); err != nil {
				return fmt.Errorf("vault: create bucket: %w", err)
			}
		}
		return nil
	}))
}

func (s *Store) epochAndKeyCount() (epoch uint32, nkeys int, err error) {
	err = s.db.Load().View(func(tx *bolt.Tx) error {
		v := tx.Bucket([]byte(bMeta)).Get(mEpoch)
		if len(v) != 4 {
			return fmt.Errorf("%w: meta epoch", ErrCorrupt)
		}
		epoch = binary.BigEndian.Uint32(v)
		nkeys = tx.Bucket([]byte(bKeys)).Stats().KeyN
		return nil
	})
	return epoch, nkeys, err
}

// migration upgrades the vault from schema version from to from+1.
type migration struct {
	from  uint16
	apply func(t *txn) error
}

// builtinMigrations lists the upgrades this program knows. Version 1 is
// the first schema, so there are none yet; a new schema appends a step.
var builtinMigrations []migration

// migrate brings the schema up to target with steps, all in one
// transaction, and audits it.
func (s *Store) migrate(steps []migration, target uint16) error {
	var cur uint16
	if err := s.view(func(t *txn) error {
		v := t.meta().Get(mSchema)
		if len(v) != 2 {
			return fmt.Errorf("%w: meta schema", ErrCorrupt)
		}
		cur = binary.BigEndian.Uint16(v)
		return nil
	}); err != nil {
		return err
	}
	if cur > target {
		return fmt.Errorf("%w: vault schema %d, program schema %d", ErrSchemaTooNew, cur, target)
	}
	if cur == target {
		s.schema = target
		return nil
	}
	if s.readOnly {
		return fmt.Errorf("%w: schema %d needs migrating to %d; open it read-write first", ErrReadOnly, cur, target)
	}
	err := s.updateReserved(func(t *txn) error {
		v := t.meta().Get(mSchema)
		if len(v) != 2 {
			return fmt.Errorf("%w: meta schema", ErrCorrupt)
		}
		cur := binary.BigEndian.Uint16(v)
		if cur > target {
			return fmt.Errorf("%w: vault schema %d, program schema %d", ErrSchemaTooNew, cur, target)
		}
		if cur == target {
			return nil
		}
		from := cur
		for cur < target {
			var step *migration
			for i := range steps {
				if steps[i].from == cur {
					step = &steps[i]
				}
			}
			if step == nil {
				return fmt.Errorf("vault: no migration from schema %d", cur)
			}
			if err := step.apply(t); err != nil {
				return fmt.Errorf("vault: migrate schema %d: %w", cur, err)
			}
			cur++
		}
		if err := t.meta().Put(mSchema, binary.BigEndian.AppendUint16(nil, cur)); err != nil {
			return err
		}
		return t.audit(SystemActor, "schema.migrate", fmt.Sprintf("%d-%d", from, cur), "ok")
	})
	if err != nil {
		return err
	}
	s.schema = target
	return nil
}

// Close releases the file and wipes the keys held in memory.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.rotMu.Lock()
	defer s.rotMu.Unlock()
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	err := s.db.Load().Close()
	s.wipe()
	if err != nil {
		return fmt.Errorf("vault: close: %w", err)
	}
	return nil
}

func (s *Store) wipe() {
	s.kmu.Lock()
	for e, k := range s.keks {
		zero(k)
		delete(s.keks, e)
	}
	s.kmu.Unlock()
	zero(s.root)
	zero(s.ringMAC)
	zero(s.auditKey)
}

// Path returns the vault file's path.
func (s *Store) Path() string { return s.path }

// mapErr turns bbolt's errors into the vault's; a file system without
// space is ErrFull, like the disk budget.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrFull):
		return err
	case errors.Is(err, berrors.ErrMaxSizeReached):
		return fmt.Errorf("%w: disk budget reached (%v)", ErrFull, err)
	case noSpace(err):
		return fmt.Errorf("%w: %w", ErrFull, err)
	case errors.Is(err, berrors.ErrDatabaseNotOpen), errors.Is(err, berrors.ErrTxClosed):
		return fmt.Errorf("%w (%v)", ErrClosed, err)
	}
	return err
}

// noSpace reports whether err says the file system is full or the quota
// used up. bbolt wraps a failed write or fsync with %w, but a failed grow
// (truncate, sync) only with its text, so the text is checked too.
func noSpace(err error) bool {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, syscall.ENOSPC.Error()) || strings.Contains(msg, syscall.EDQUOT.Error())
}

// txn is one bbolt transaction with the data keys it has unwrapped; they
// are wiped when the transaction ends.
type txn struct {
	s    *Store
	tx   *bolt.Tx
	deks map[ID][]byte
	// audited collects entries appended in this transaction so that the
	// checkpoint is signed once at the end.
	audited bool
	// written counts the bytes of sealed values put, for the headroom check.
	written int64
}

// update runs an ordinary write: it fails with ErrFull once the vault
// would eat into the reserve kept for erasures.
func (s *Store) update(fn func(t *txn) error) error { return s.updateIn(false, fn) }

// updateReserved runs a write that may use the reserve: erasure,
// withdrawal, retention, key rotation, revocation, acknowledgements. They
// shrink what the vault holds, so a full vault can always honour them.
func (s *Store) updateReserved(fn func(t *txn) error) error { return s.updateIn(true, fn) }

func (s *Store) updateIn(reserved bool, fn func(t *txn) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if s.readOnly {
		return ErrReadOnly
	}
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	t := &txn{s: s, deks: map[ID][]byte{}}
	defer t.wipe()
	return mapErr(s.db.Load().Update(func(tx *bolt.Tx) error {
		t.tx = tx
		if err := fn(t); err != nil {
			return err
		}
		if !reserved && s.maxSize > 0 {
			if err := t.checkHeadroom(); err != nil {
				return err
			}
		}
		if t.audited {
			if err := t.signCheckpoint(); err != nil {
				return err
			}
		}
		if s.commitFault != nil {
			return s.commitFault()
		}
		return nil
	}))
}

func (s *Store) view(fn func(t *txn) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	t := &txn{s: s, deks: map[ID][]byte{}}
	defer t.wipe()
	return mapErr(s.db.Load().View(func(tx *bolt.Tx) error {
		t.tx = tx
		return fn(t)
	}))
}

func (t *txn) wipe() {
	for id, k := range t.deks {
		zero(k)
		delete(t.deks, id)
	}
}

func (t *txn) meta() *bolt.Bucket { return t.tx.Bucket([]byte(bMeta)) }
func (t *txn) keys() *bolt.Bucket { return t.tx.Bucket([]byte(bKeys)) }

func (t *txn) epoch() (uint32, error) {
	v := t.meta().Get(mEpoch)
	if len(v) != 4 {
		return 0, fmt.Errorf("%w: meta epoch", ErrCorrupt)
	}
	return binary.BigEndian.Uint32(v), nil
}

func (t *txn) kek(epoch uint32) ([]byte, error) {
	t.s.kmu.RLock()
	defer t.s.kmu.RUnlock()
	k, ok := t.s.keks[epoch]
	if !ok {
		return nil, ErrKeyDestroyed
	}
	return bytes.Clone(k), nil
}

// dataKey unwraps an existing data key. A destroyed key is ErrKeyDestroyed.
func (t *txn) dataKey(id ID) ([]byte, error) {
	if k, ok := t.deks[id]; ok {
		return k, nil
	}
	w := t.keys().Get(id[:])
	if w == nil {
		return nil, ErrKeyDestroyed
	}
	epoch, err := wrappedEpoch(w)
	if err != nil {
		return nil, err
	}
	kek, err := t.kek(epoch)
	if err != nil {
		return nil, err
	}
	defer zero(kek)
	dek, err := unwrapKey(kek, t.s.vaultID, id, w)
	if err != nil {
		return nil, err
	}
	t.deks[id] = dek
	return dek, nil
}

// newDataKey creates, wraps and stores a fresh data key under the current
// epoch's KEK.
func (t *txn) newDataKey(id ID) ([]byte, error) {
	if t.keys().Get(id[:]) != nil {
		return nil, fmt.Errorf("%w: data key exists", ErrInvalid)
	}
	epoch, err := t.epoch()
	if err != nil {
		return nil, err
	}
	kek, err := t.kek(epoch)
	if err != nil {
		return nil, err
	}
	defer zero(kek)
	dek := randomBytes(keySize)
	w, err := wrapKey(kek, t.s.vaultID, id, epoch, dek)
	if err != nil {
		zero(dek)
		return nil, err
	}
	if err := t.keys().Put(id[:], w); err != nil {
		zero(dek)
		return nil, err
	}
	t.deks[id] = dek
	return dek, nil
}

// destroyKey deletes a data key: every value sealed under it, wherever a
// copy of it lies, is unreadable from now on (once the KEK epoch that
// wrapped it is rotated away).
func (t *txn) destroyKey(id ID) error {
	if k, ok := t.deks[id]; ok {
		zero(k)
		delete(t.deks, id)
	}
	return t.keys().Delete(id[:])
}

// checkHeadroom refuses an ordinary write (before it commits) when the
// pages in use plus what it wrote would come within the reserve of the
// disk budget. The reserve covers an erasure and
// the key rotation after it (which re-wraps every data key): an eighth of
// the budget, at least 64 KiB, at least four times the wrapped keys.
func (t *txn) checkHeadroom() error {
	db := t.tx.DB()
	page := int64(db.Info().PageSize)
	st := db.Stats()
	// Pending pages are free again as soon as no reader holds them.
	used := t.tx.Size() - int64(st.FreePageN+st.PendingPageN)*page
	reserve := max(t.s.maxSize/8, 64<<10, 4*int64(t.keys().Stats().KeyN)*128)
	// Values land in leaf or overflow pages; count each with its share of
	// page overhead and the copy-on-write of its branch.
	if used+2*t.written+reserve > t.s.maxSize {
		return fmt.Errorf("%w: disk budget reached (%d of %d bytes in use, %d kept for erasures)", ErrFull, used, t.s.maxSize, reserve)
	}
	return nil
}
