package sync_test

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	vsync "github.com/voxward/voxward/sync"
)

// A pull leaves no goroutine behind once its client's idle connections
// and the boxes are closed.
func TestPullLeaksNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	fleet := newFleet(t, 3, 4)
	sink, err := vsync.NewDirSink(t.TempDir())
	require.NoError(t, err)
	k, err := vsync.OpenKnownDevices(filepath.Join(t.TempDir(), "known.json"))
	require.NoError(t, err)
	tr := &http.Transport{}
	p := &vsync.Puller{Sink: sink, Known: k, Client: &http.Client{Transport: tr, Timeout: 10 * time.Second}, Concurrency: 2}
	s := vsync.Summarize(p.PullAll(context.Background(), boxesOf(fleet)))
	require.Equal(t, 12, s.Stored)
	tr.CloseIdleConnections()
	for _, b := range fleet {
		b.kill()
	}
}
