package agent

import (
	"errors"
	"net/http"
	"slices"

	"github.com/voxward/voxward/vault"
)

// Token management over the API (admin), so that "voxward token ... --url
// URL --token ADMIN" works while the daemon holds the vault. These routes
// are this project's addition to the designed API.

// TokenCreated is the answer to POST /v1/tokens: the secret is shown
// once; the vault keeps only its SHA-256.
type TokenCreated struct {
	TokenID string `json:"token_id"`
	Role    string `json:"role"`
	Token   string `json:"token"`
}

type tokenRequest struct {
	Role string `json:"role"`
}

var roles = []string{vault.RoleAdmin, vault.RoleTechnician, vault.RoleKiosk, vault.RolePuller}

func (a *App) handleTokenList(w http.ResponseWriter, r *http.Request) {
	toks, err := a.vaultStore().Tokens(callerFrom(r.Context()).actor("tokens"))
	if err != nil {
		a.writeVaultError(w, "list tokens", err)
		return
	}
	if toks == nil {
		toks = []vault.Token{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": toks})
}

func (a *App) handleTokenCreate(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if !decodeJSON(w, r, &req, false) {
		return
	}
	if !slices.Contains(roles, req.Role) {
		writeError(w, http.StatusUnprocessableEntity, "invalid", "role must be admin, technician, kiosk or puller")
		return
	}
	tok, secret, err := a.vaultStore().CreateToken(callerFrom(r.Context()).actor("tokens"), req.Role)
	if err != nil {
		a.writeVaultError(w, "create token", err)
		return
	}
	writeJSON(w, http.StatusCreated, TokenCreated{TokenID: tok.ID.String(), Role: tok.Role, Token: string(secret)})
}

func (a *App) handleTokenRevoke(w http.ResponseWriter, r *http.Request) {
	id, err := vault.ParseID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, "not_found", "no such token")
		return
	}
	if err := a.vaultStore().RevokeToken(callerFrom(r.Context()).actor("tokens"), id); errors.Is(err, vault.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such token")
		return
	} else if err != nil {
		a.writeVaultError(w, "revoke token", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token_id": id.String(), "revoked": "true"})
}
