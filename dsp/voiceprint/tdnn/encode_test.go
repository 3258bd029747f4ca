package tdnn

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func TestMarshalRoundTrip(t *testing.T) {
	n, err := New(Config{Input: 6, Width: 4, Dim: 3}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	n.layers[2].Mean[1], n.layers[2].Var[1], n.Mu[0], n.Sd[0] = 0.5, 2, -1, 3
	b, err := n.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !Equal(n, m) {
		t.Fatal("the decoded network differs")
	}
	for cut := range len(b) {
		if _, err := Unmarshal(b[:cut]); !errors.Is(err, ErrInvalid) {
			t.Fatalf("cut at %d of %d bytes: %v, want ErrInvalid", cut, len(b), err)
		}
	}
	bad := append([]byte(nil), b...)
	bad[len(bad)-1] = 0xff // the last value becomes NaN
	bad[len(bad)-2] = 0xff
	if _, err := Unmarshal(bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a NaN: %v, want ErrInvalid", err)
	}
	if _, err := Unmarshal(append(b, 0)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a trailing byte: %v, want ErrInvalid", err)
	}
}

// FuzzUnmarshal: any bytes decode to a network that embeds, or to an
// error; never a panic.
func FuzzUnmarshal(f *testing.F) {
	n, _ := New(Config{Input: 3, Width: 2, Dim: 2}, rand.New(rand.NewPCG(1, 2)))
	b, _ := n.MarshalBinary()
	f.Add(b)
	f.Add([]byte(magic + "\x02\x00\x00\x00{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := Unmarshal(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("an error that is not ErrInvalid: %v", err)
			}
			return
		}
		if _, err := n.Embed(make([]float32, n.Input)); err != nil {
			t.Fatal(err)
		}
	})
}

// Config.values counts what MarshalBinary writes.
func TestConfigValues(t *testing.T) {
	for _, c := range []Config{{1, 1, 1}, {60, 64, 256}, {6, 8, 5}} {
		n, _ := New(c, nil)
		total := 0
		for _, p := range n.tensors() {
			total += len(p.Value)
		}
		if c.values() != total {
			t.Errorf("%+v: values() = %d, the tensors hold %d", c, c.values(), total)
		}
	}
}
