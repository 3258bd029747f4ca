package vault_test

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/voxward/voxward/vault"
)

const (
	crashChildEnv = "VOXWARD_VAULT_CRASH_CHILD"
	lockChildEnv  = "VOXWARD_VAULT_LOCK_CHILD"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		os.Exit(crashChild(dir))
	}
	if dir := os.Getenv(lockChildEnv); dir != "" {
		os.Exit(lockChild(dir))
	}
	os.Exit(m.Run())
}

// lockChild tries to open a vault another process holds and reports how.
func lockChild(dir string) int {
	start := time.Now()
	_, err := vault.Open(filepath.Join(dir, vault.VaultFile), &vault.Options{
		Key:         vault.FileKey(filepath.Join(dir, vault.MasterKeyFile)),
		LockTimeout: 200 * time.Millisecond,
	})
	if errors.Is(err, vault.ErrLocked) {
		fmt.Printf("locked after %v: %v\n", time.Since(start).Round(time.Millisecond), err)
		return 0
	}
	fmt.Printf("unexpected: %v\n", err)
	return 1
}

// TestSecondProcessGetsErrLocked: while this process holds the vault, a
// second process fails fast with ErrLocked and a message that says why.
func TestSecondProcessGetsErrLocked(t *testing.T) {
	s, e := openVault(t)
	_ = s
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+e.dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "locked after")
	require.Contains(t, string(out), "voxward serve running")
}

// crashChild is the writer the crash test kills: it writes for ever and
// prints an acknowledgement line after each write returns.
func crashChild(dir string) int {
	s, err := vault.Open(filepath.Join(dir, vault.VaultFile), &vault.Options{
		Key:         vault.FileKey(filepath.Join(dir, vault.MasterKeyFile)),
		LockTimeout: 10 * time.Second,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		return 3
	}
	r := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(time.Now().UnixNano())))
	ack := func(format string, args ...any) { fmt.Fprintf(os.Stdout, format+"\n", args...) }
	ack("open") // the parent's kill timer starts now, whatever the start-up took
	var live []vault.ID
	for i := 0; ; i++ {
		var err error
		switch {
		case i%9 == 8 && len(live) > 0:
			id := live[0]
			live = live[1:]
			ack("erasing %s", id)
			if _, err = s.EraseSubject(admin, id); err == nil {
				ack("erased %s", id)
			}
		case i%23 == 22:
			var ep uint32
			if ep, err = s.RotateKey(admin); err == nil {
				ack("rotated %d", ep)
			}
		case i%13 == 12:
			// Seal the outbox into a batch whose body lists the entries'
			// sequence numbers, so the parent can tell where each went.
			id := fmt.Sprintf("c%d-%d", os.Getpid(), i)
			if _, _, err = s.SealOutbox(admin, vault.SealOutboxOptions{}, func(in vault.SealInput) (vault.SealedBatch, error) {
				if len(in.Entries) == 0 {
					return vault.SealedBatch{}, nil
				}
				sb := vault.SealedBatch{ID: id, Manifest: []byte("m"), Signature: []byte("s")}
				var seqs []string
				for _, e := range in.Entries {
					sb.Entries = append(sb.Entries, e.Seq)
					seqs = append(seqs, strconv.FormatUint(e.Seq, 10))
				}
				sb.Body = []byte(strings.Join(seqs, ","))
				return sb, nil
			}); err == nil {
				ack("sealed %s", id)
			}
		case i%5 == 4:
			var es []vault.OutboxEntry
			if es, err = s.AppendOutbox(vault.OutboxEntry{Kind: "stats", Payload: []byte(strconv.Itoa(i))}); err == nil {
				ack("outbox %d", es[0].Seq)
			}
		default:
			var sub vault.Subject
			sub, _, err = s.CreateSubject(tech, vault.NewSubject{DisplayName: "crash", Consent: consent()})
			if err == nil {
				ack("subject %s", sub.ID)
				live = append(live, sub.ID)
				var tpl vault.Template
				if tpl, err = s.AddTemplate(tech, sub.ID, vault.Template{Embedding: embedding(r, 64), ModelID: "m"}); err == nil {
					ack("template %s %s", sub.ID, tpl.ID)
				}
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "child write:", err)
			return 4
		}
	}
}

func crashIterations() int {
	if v, err := strconv.Atoi(os.Getenv("VOXWARD_CRASH_ITER")); err == nil && v > 0 {
		return v
	}
	return 10
}

// TestCrashKill9 re-executes this test binary as a writer, kills it with
// SIGKILL at a random moment, then checks that the vault opens, verifies,
// and holds every acknowledged write (and none of the acknowledged
// erasures). make crash runs 200 iterations; the default run does 10.
func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	e := newEnv(t)
	s, err := vault.Open(e.path, &vault.Options{Key: e.key})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	subjects := map[vault.ID]bool{}        // acknowledged, not being erased
	templates := map[vault.ID][]vault.ID{} // subject → acknowledged templates
	erasing := map[vault.ID]bool{}         // erasure started, maybe not done
	erased := map[vault.ID]bool{}          // erasure acknowledged
	outbox := map[uint64]bool{}
	r := rand.New(rand.NewPCG(61, 62))
	iters := crashIterations()
	acks, midRotation, pendingRotation, sealedBatches := 0, 0, 0, 0
	for it := range iters {
		lines := runAndKill(t, e.dir, time.Duration(20+r.IntN(180))*time.Millisecond)
		for _, l := range lines {
			f := strings.Fields(l)
			if f[0] == "open" {
				continue
			}
			switch f[0] {
			case "subject":
				subjects[mustID(t, f[1])] = true
			case "template":
				sid := mustID(t, f[1])
				templates[sid] = append(templates[sid], mustID(t, f[2]))
			case "erasing":
				id := mustID(t, f[1])
				delete(subjects, id)
				erasing[id] = true
			case "erased":
				id := mustID(t, f[1])
				delete(erasing, id)
				erased[id] = true
			case "outbox":
				q, err := strconv.ParseUint(f[1], 10, 64)
				require.NoError(t, err)
				outbox[q] = true
			}
			acks++
		}

		// What the kill interrupted: a rotation between its two keyring
		// writes, or an erasure whose rotation had not started.
		if ring := readFile(t, filepath.Join(e.dir, vault.KeyringFile)); strings.Count(string(ring), `"epoch"`) > 1 {
			midRotation++
		}
		ro, err := vault.Open(e.path, &vault.Options{Key: e.key, ReadOnly: true})
		require.NoErrorf(t, err, "iteration %d: read-only reopen", it)
		st0, err := ro.Stats()
		require.NoError(t, err)
		if st0.RotationPending {
			pendingRotation++
		}
		require.NoError(t, ro.Close())

		s, err := vault.Open(e.path, &vault.Options{Key: e.key})
		require.NoErrorf(t, err, "iteration %d: reopen", it)
		rep, err := s.Verify()
		require.NoError(t, err)
		require.Truef(t, rep.OK(), "iteration %d: %v", it, rep.Problems)
		st, err := s.Stats()
		require.NoError(t, err)
		require.False(t, st.RotationPending, "Open finishes an interrupted rotation")
		all, err := s.Subjects(tech)
		require.NoError(t, err)
		haveSub := map[vault.ID]bool{}
		for _, sb := range all {
			haveSub[sb.ID] = true
		}
		tpls, err := s.MatchTemplates(tech)
		require.NoError(t, err)
		haveTpl := map[vault.ID]bool{}
		for _, tp := range tpls {
			haveTpl[tp.ID] = true
		}
		for id := range subjects {
			require.Truef(t, haveSub[id], "iteration %d: acknowledged subject %s lost", it, id)
			for _, want := range templates[id] {
				require.Truef(t, haveTpl[want], "iteration %d: acknowledged template %s lost", it, want)
			}
		}
		for id := range erased {
			require.Falsef(t, haveSub[id], "iteration %d: erased subject %s is back", it, id)
		}
		ob, err := s.Outbox(0, 0)
		require.NoError(t, err)
		have := map[uint64]bool{}
		for _, o := range ob {
			have[o.Seq] = true
		}
		// A seal moves entries into a batch in one transaction: every
		// entry is in the outbox or in one batch, never both, never
		// neither.
		bs, err := s.Batches(0, 0)
		require.NoError(t, err)
		inBatch := map[uint64]int{}
		for _, b := range bs {
			for _, f := range strings.Split(string(b.Body), ",") {
				q, err := strconv.ParseUint(f, 10, 64)
				require.NoError(t, err)
				inBatch[q]++
				require.Falsef(t, have[q], "iteration %d: outbox entry %d is both in the outbox and in batch %s", it, q, b.ID)
			}
		}
		sealedBatches = len(bs)
		for q, n := range inBatch {
			require.Equalf(t, 1, n, "iteration %d: outbox entry %d in %d batches", it, q, n)
		}
		for q := range outbox {
			require.Truef(t, have[q] || inBatch[q] == 1, "iteration %d: acknowledged outbox entry %d lost (in neither the outbox nor a batch)", it, q)
		}
		require.NoError(t, s.Close())
	}
	t.Logf("%d iterations, %d acknowledged writes, %d subjects, %d erased, %d sync batches; killed mid-rotation %d times, between erasure and rotation %d times",
		iters, acks, len(subjects), len(erased), sealedBatches, midRotation, pendingRotation)
	require.Positive(t, len(subjects), "the children acknowledged no write: the test proved nothing")
}

func mustID(t *testing.T, s string) vault.ID {
	id, err := vault.ParseID(s)
	require.NoError(t, err)
	return id
}

// runAndKill starts the writer child, kills it with SIGKILL d after it
// has opened the vault (so that a slow start, under -race on a loaded
// machine, does not eat the writing time) and returns the complete lines
// it printed.
func runAndKill(t *testing.T, dir string, d time.Duration) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var lines []string
	var wg sync.WaitGroup
	opened := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		br := bufio.NewReader(out)
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return // a partial last line was never acknowledged
			}
			if len(lines) == 0 {
				close(opened)
			}
			lines = append(lines, strings.TrimSpace(l))
		}
	}()
	done := make(chan error, 1)
	go func() { wg.Wait(); done <- cmd.Wait() }()
	select {
	case <-opened:
	case err := <-done:
		t.Fatalf("writer child exited before opening the vault: %v\n%s", err, stderr.String())
	case <-time.After(time.Minute):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		t.Fatalf("writer child did not open the vault within a minute\n%s", stderr.String())
	}
	timer := time.NewTimer(d)
	select {
	case <-timer.C:
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		<-done
	case err := <-done:
		t.Fatalf("writer child exited on its own: %v\n%s", err, stderr.String())
	}
	return lines
}
