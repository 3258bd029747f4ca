package sync_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	vsync "github.com/voxward/voxward/sync"
)

func TestParseBoxes(t *testing.T) {
	lines, err := vsync.ParseBoxes(strings.NewReader(`# the fleet
hall-a  http://10.0.0.5:7480/   env:TOKEN_A

hall-b	https://10.0.0.6:7480	file:/etc/voxward/hall-b.token
`))
	require.NoError(t, err)
	require.Equal(t, []vsync.BoxLine{
		{Line: 2, Name: "hall-a", URL: "http://10.0.0.5:7480", Token: "env:TOKEN_A"},
		{Line: 4, Name: "hall-b", URL: "https://10.0.0.6:7480", Token: "file:/etc/voxward/hall-b.token"},
	}, lines)

	for _, c := range []struct{ in, want string }{
		{"hall http://x:1", "line 1: want NAME URL TOKEN"},
		{"../x http://x:1 t", `line 1: box name "../x"`},
		{"a ftp://x t", `line 1: malformed batch: URL "ftp://x"`},
		{"a http://u:p@x:1 t", "want http://HOST:PORT"},
		{"a http://x:1 t\na http://y:1 t", `line 2: box name "a" already on line 1`},
		{"a http://x:1 env:", "line 1: env: names no variable"},
	} {
		_, err := vsync.ParseBoxes(strings.NewReader(c.in))
		require.ErrorIs(t, err, vsync.ErrMalformed, c.in)
		require.Contains(t, err.Error(), c.want)
	}
	_, err = vsync.ParseBoxes(strings.NewReader("a http://x:1 secret-token extra"))
	require.NotContains(t, err.Error(), "secret-token", "a token is never quoted")
}

func TestLoadBoxesTokens(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "b.token")
	require.NoError(t, os.WriteFile(tokFile, []byte("tok-b\n"), 0o600))
	path := filepath.Join(dir, "boxes")
	require.NoError(t, os.WriteFile(path, []byte("a http://127.0.0.1:1 env:TA\nb http://127.0.0.1:2 file:"+tokFile+"\nc http://127.0.0.1:3 tok-c\n"), 0o600))
	env := map[string]string{"TA": "tok-a"}
	boxes, err := vsync.LoadBoxes(path, func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, []string{"tok-a", "tok-b", "tok-c"}, []string{boxes[0].Token, boxes[1].Token, boxes[2].Token})
	require.NotContains(t, boxes[2].String(), "tok-c")

	require.NoError(t, os.Chmod(path, 0o644))
	_, err = vsync.LoadBoxes(path, func(k string) string { return env[k] })
	require.ErrorContains(t, err, "line 3 (box c): a token written in the boxes file needs the file to be mode 0600")
	require.NotContains(t, err.Error(), "tok-c")

	require.NoError(t, os.Chmod(path, 0o600))
	require.NoError(t, os.Chmod(tokFile, 0o640))
	_, err = vsync.LoadBoxes(path, func(k string) string { return env[k] })
	require.ErrorContains(t, err, "want 0600 or stricter")

	require.NoError(t, os.Chmod(tokFile, 0o600))
	_, err = vsync.LoadBoxes(path, func(string) string { return "" })
	require.ErrorContains(t, err, "environment variable TA is empty or unset")
}

func FuzzParseBoxes(f *testing.F) {
	f.Add([]byte("hall-a http://10.0.0.5:7480 env:T\n# c\n\nb https://h:1/ file:/x\n"))
	f.Add([]byte("a http://x:1 t\na http://y:1 t"))
	f.Add([]byte("a\thttp://[::1]:80\tt\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := vsync.ParseBoxes(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		var sb strings.Builder
		seen := map[string]bool{}
		for _, l := range lines {
			require.True(t, vsync.ValidID(l.Name))
			require.False(t, seen[l.Name])
			seen[l.Name] = true
			require.NoError(t, vsync.CheckBoxURL(l.URL))
			sb.WriteString(l.Name + " " + l.URL + " " + l.Token + "\n")
		}
		again, err := vsync.ParseBoxes(strings.NewReader(sb.String()))
		require.NoError(t, err)
		require.Len(t, again, len(lines))
	})
}
