package atomicfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/voxward/voxward/internal/atomicfile"
)

func TestWriteReplacesAndLeavesNoTemporary(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	require.NoError(t, atomicfile.Write(p, []byte("one"), 0o600))
	require.NoError(t, atomicfile.Write(p, []byte("two"), 0o640))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, "two", string(b))
	st, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o640), st.Mode().Perm())
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, es, 1, "no temporary file left")

	// A target that cannot be replaced (a directory) fails and leaves no
	// temporary file.
	require.NoError(t, os.Mkdir(filepath.Join(dir, "d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "d", "x"), nil, 0o600))
	require.Error(t, atomicfile.Write(filepath.Join(dir, "d"), []byte("x"), 0o600))
	es, err = os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, es, 2)
}
