package vault_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/voxward/voxward/vault"
)

// A state directory from scratch: a master key file, the vault, a subject
// with a template, then the subject's erasure with its receipt.
func Example() {
	dir, _ := os.MkdirTemp("", "vault-example")
	defer os.RemoveAll(dir)
	if err := vault.CreateKeyFile(filepath.Join(dir, vault.MasterKeyFile)); err != nil {
		fmt.Println(err)
		return
	}
	s, err := vault.Open(filepath.Join(dir, vault.VaultFile), &vault.Options{Key: vault.DefaultKeySource(dir)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	kiosk := vault.Actor{TokenID: "tok-kiosk", Role: "kiosk", Purpose: "consent"}
	sub, _, err := s.CreateSubject(kiosk, vault.NewSubject{
		DisplayName: "Ada",
		Consent: vault.Consent{
			Kind:             vault.ConsentGrant,
			DisclosureSHA256: strings.Repeat("0", 64),
			Signature:        "Ada L.",
			Purposes:         []vault.Purpose{vault.PurposeRecognition},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = s.AddTemplate(kiosk, sub.ID, vault.Template{Embedding: []float32{0.6, 0.8}, ModelID: "demo"})
	if err != nil {
		fmt.Println(err)
		return
	}
	rc, err := s.EraseSubject(vault.Actor{TokenID: "tok-admin", Role: "admin", Purpose: "erasure"}, sub.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rc.Kind, rc.Erased["subject"], rc.Erased["template"], rc.Erased["consent"], rc.KEKEpoch)
	_, err = s.Subject(kiosk, sub.ID)
	fmt.Println(err)
	// Output:
	// subject 1 1 1 2
	// vault: not found
}
