package agent_test

import (
	"bufio"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/voxward/voxward/agent"
	"github.com/voxward/voxward/internal/clocktest"
	"github.com/voxward/voxward/vault"
)

// TestShutdownWithStalledClients: clients that never finish their
// request cannot hold shutdown past its bound or make it fail. SIGTERM
// (the context ending) gives open requests shutdown_timeout to finish,
// then closes what is left; Run returns nil.
func TestShutdownWithStalledClients(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	st := newState(t)
	cfg := st.config()
	cfg.ShutdownTimeout = agent.Duration(500 * time.Millisecond)
	d := start(t, cfg)
	tech := st.tokens[vault.RoleTechnician]
	addr := d.app.Addr().String()

	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}
	// A handler reading a body of which 10 of 100 bytes came: the server
	// says 100 Continue once the handler reads, so it is surely running.
	reading := dial()
	require.NoError(t, reading.SetDeadline(time.Now().Add(10*time.Second)))
	_, err := reading.Write([]byte("POST /v1/sessions HTTP/1.1\r\nHost: " + addr + "\r\nAuthorization: Bearer " + tech +
		"\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n"))
	require.NoError(t, err)
	line, err := bufio.NewReader(reading).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "HTTP/1.1 100 Continue\r\n", line)
	_, err = reading.Write([]byte(`{"title":`))
	require.NoError(t, err)
	require.NoError(t, reading.SetDeadline(time.Time{}))
	conns := []net.Conn{reading}
	for _, req := range []string{
		// A body the handler does not read, sent in part.
		"GET /v1/health HTTP/1.1\r\nHost: " + addr + "\r\nContent-Length: 100\r\n\r\n0123456789",
		// Headers sent in part.
		"GET /v1/status HTTP/1.1\r\nHost: " + addr + "\r\n",
	} {
		c := dial()
		_, err := c.Write([]byte(req))
		require.NoError(t, err)
		conns = append(conns, c)
	}

	begin := time.Now()
	err = d.stop(t)
	elapsed := time.Since(begin)
	require.NoError(t, err, "Run after SIGTERM with stalled clients")
	// The bound is shutdown_timeout plus one second for handlers to
	// return; the rest is slack for a loaded test machine.
	assert.Less(t, elapsed, 500*time.Millisecond+5*time.Second, "shutdown took %v", elapsed)

	// The daemon closed the stalled connections.
	buf := make([]byte, 512)
	for i, c := range conns {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		var err error
		for err == nil {
			_, err = c.Read(buf)
		}
		var ne net.Error
		assert.False(t, errors.As(err, &ne) && ne.Timeout(), "stalled connection %d still open after Run returned", i)
	}
}

func TestStartClosesSessionsLeftOpen(t *testing.T) {
	st := newState(t)
	v := st.openVault(t)
	tech := vault.Actor{TokenID: "tok-tech", Role: vault.RoleTechnician, Purpose: "session"}
	crashed, err := v.CreateSession(tech, "left open by a crash", nil)
	require.NoError(t, err)
	done, err := v.CreateSession(tech, "finished", nil)
	require.NoError(t, err)
	done, err = v.StopSession(tech, done.ID, nil)
	require.NoError(t, err)
	require.NoError(t, v.Close())

	clk := clocktest.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	d := start(t, st.config(), agent.WithClock(clk))
	s := d.status(t, st.tokens[vault.RoleTechnician])
	assert.Empty(t, s.Sessions)
	assert.False(t, s.Capture.Open)
	require.NoError(t, d.stop(t))

	v = st.openVault(t)
	defer v.Close()
	all, err := v.Sessions(vault.SystemActor)
	require.NoError(t, err)
	require.Len(t, all, 2)
	for _, ss := range all {
		switch ss.ID {
		case crashed.ID:
			assert.Equal(t, clk.Now(), ss.Stopped, "the session left open was not closed at start-up")
			assert.True(t, ss.Interrupted, "the session left open is not marked interrupted")
		case done.ID:
			assert.Equal(t, done.Stopped, ss.Stopped, "a finished session was changed")
			assert.False(t, ss.Interrupted)
		}
	}
	es, err := v.AuditEntries(0, 0)
	require.NoError(t, err)
	var audited []string
	for _, e := range es {
		if e.Action == "session.interrupt" {
			audited = append(audited, e.RecordID)
		}
	}
	assert.Equal(t, []string{crashed.ID.String()}, audited, "audit entries for interrupted sessions")
	rep, err := v.Verify()
	require.NoError(t, err)
	assert.True(t, rep.OK(), rep.Problems)
}
