package vault

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"
)

// Roles a token may hold.
const (
	RoleAdmin      = "admin"
	RoleTechnician = "technician"
	RoleKiosk      = "kiosk"
	RolePuller     = "puller"
)

// Token is an API token as stored: the secret itself is never kept, only
// its SHA-256.
type Token struct {
	ID      ID        `json:"id"`
	Role    string    `json:"role"`
	Created time.Time `json:"created"`
	Revoked time.Time `json:"revoked,omitzero"`
}

type tokenWire struct {
	Token
	Hash []byte `json:"hash"`
}

func (w *tokenWire) check() error {
	if len(w.Hash) != 32 || !validRole(w.Role) {
		return errors.New("bad token")
	}
	return nil
}

// BearerToken is a token's secret, shown once at creation. It prints and
// logs as "[redacted]".
type BearerToken string

// String implements fmt.Stringer without revealing the token.
func (BearerToken) String() string { return "[redacted]" }

// LogValue implements slog.LogValuer without revealing the token.
func (BearerToken) LogValue() slog.Value { return slog.StringValue("[redacted]") }

func validRole(r string) bool {
	return slices.Contains([]string{RoleAdmin, RoleTechnician, RoleKiosk, RolePuller}, r)
}

// tokenPrefix marks voxward tokens so that a leaked one is easy to grep.
const tokenPrefix = "vxw_"

// CreateToken makes a token for role and returns it with its secret.
// Errors: ErrInvalid (unknown role), ErrFull.
func (s *Store) CreateToken(a Actor, role string) (Token, BearerToken, error) {
	if !validRole(role) {
		return Token{}, "", fmt.Errorf("%w: unknown role %q", ErrInvalid, role)
	}
	secret := tokenPrefix + newSecret()
	w := tokenWire{Token: Token{ID: NewID(), Role: role, Created: s.now().UTC()}, Hash: tokenHash(secret)}
	err := s.audited(a, "token.create", w.ID.String(), func(t *txn) error {
		if err := t.put(kToken, w.ID[:], &w); err != nil {
			return err
		}
		return t.tx.Bucket([]byte(bTokenIdx)).Put(w.Hash, w.ID[:])
	})
	if err != nil {
		return Token{}, "", err
	}
	return w.Token, BearerToken(secret), nil
}

// AuthenticateToken returns the live token whose secret this is.
// Errors: ErrNotFound (unknown or revoked).
func (s *Store) AuthenticateToken(secret BearerToken) (Token, error) {
	var w tokenWire
	err := s.view(func(t *txn) error {
		id := t.tx.Bucket([]byte(bTokenIdx)).Get(tokenHash(string(secret)))
		if len(id) != 16 {
			return ErrNotFound
		}
		return t.get(kToken, id, &w)
	})
	if err != nil {
		return Token{}, err
	}
	if !w.Revoked.IsZero() {
		return Token{}, ErrNotFound
	}
	return w.Token, nil
}

// Tokens lists every token, oldest first.
func (s *Store) Tokens(a Actor) ([]Token, error) {
	var out []Token
	err := s.audited(a, "token.list", "", func(t *txn) error {
		return t.bucket(kToken).ForEach(func(k, v []byte) error {
			var w tokenWire
			if err := t.decode(kToken, k, v, &w); err != nil {
				return err
			}
			out = append(out, w.Token)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, err
}

// RevokeToken revokes a token at once. Errors: ErrNotFound.
func (s *Store) RevokeToken(a Actor, id ID) error {
	return s.auditedReserved(a, "token.revoke", id.String(), func(t *txn) error {
		var w tokenWire
		if err := t.get(kToken, id[:], &w); err != nil {
			return err
		}
		if w.Revoked.IsZero() {
			w.Revoked = s.now().UTC()
		}
		if err := t.tx.Bucket([]byte(bTokenIdx)).Delete(w.Hash); err != nil {
			return err
		}
		return t.put(kToken, id[:], &w)
	})
}
