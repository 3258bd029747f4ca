package agent_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/agent"
	"github.com/voxward/voxward/vault"
)

// testEmbedding is a template's values, recognisable in any answer.
var testEmbedding = []float32{0.125, -0.5, 0.3125, 0.0625, -0.71875, 0.9, 0.015625, -0.25}

// enrolled is a subject stored with the daemon stopped: its id and its
// deletion token.
type enrolled struct {
	id    vault.ID
	token vault.DeletionToken
}

// enrol stores a consenting subject with one template (testEmbedding)
// and one recording, as the kiosk and enrolment would, with the daemon
// stopped.
func (st state) enrol(t *testing.T, name string, purposes ...vault.Purpose) enrolled {
	t.Helper()
	if len(purposes) == 0 {
		purposes = []vault.Purpose{vault.PurposeRecognition}
	}
	s := st.openVault(t)
	defer s.Close()
	a := vault.Actor{TokenID: "test", Role: vault.RoleKiosk}
	sub, tok, err := s.CreateSubject(a, vault.NewSubject{
		DisplayName: name, Contact: strings.ToLower(name) + "@example.org",
		Consent: vault.Consent{Kind: vault.ConsentGrant, DisclosureSHA256: strings.Repeat("ab", 32), Signature: name, Purposes: purposes},
	})
	require.NoError(t, err)
	_, err = s.AddTemplate(a, sub.ID, vault.Template{Embedding: testEmbedding, ModelID: "test-model", Quality: map[string]float64{"snr_db": 24.5, "speech_seconds": 9}})
	require.NoError(t, err)
	_, err = s.AddRecording(a, sub.ID, vault.Recording{Format: "pcm_s16le", SampleRate: 16000, Audio: []byte("RIFFaudio-bytes-of-" + name)})
	require.NoError(t, err)
	return enrolled{id: sub.ID, token: tok}
}

// auditActions returns the actions of every audit entry, read through
// GET /v1/audit as admin.
func auditActions(t *testing.T, d *daemon, admin string) []vault.AuditEntry {
	t.Helper()
	var all []vault.AuditEntry
	after := uint64(0)
	for {
		r := d.do(t, "GET", fmt.Sprintf("/v1/audit?after=%d&limit=%d", after, agent.MaxAuditLimit), admin, "")
		require.Equal(t, http.StatusOK, r.code, "%s", r.body)
		var page agent.AuditPage
		r.json(t, &page)
		all = append(all, page.Entries...)
		if !page.More {
			return all
		}
		after = page.Next
	}
}
