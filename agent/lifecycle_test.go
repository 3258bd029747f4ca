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
