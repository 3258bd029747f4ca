package tdnn

import (
	"encoding/binary"
	"errors"
	"math"
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
	c, _ := n.MarshalCompact()
	f.Add(c)
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

// Config.bytes counts what MarshalBinary and MarshalCompact write.
func TestConfigBytes(t *testing.T) {
	for _, c := range []Config{{1, 1, 1}, {60, 64, 256}, {6, 8, 5}} {
		n, _ := New(c, nil)
		for _, compactForm := range []bool{false, true} {
			b, err := n.marshal(compactForm)
			if err != nil {
				t.Fatal(err)
			}
			hl := int(binary.LittleEndian.Uint32(b[len(magic):]))
			if got := len(b) - len(magic) - 4 - hl; got != c.bytes(compactForm) {
				t.Errorf("%+v, compact %v: %d bytes of tensors, bytes() says %d", c, compactForm, got, c.bytes(compactForm))
			}
		}
	}
}

// The compact form decodes to the rounded network, bit for bit, a
// quarter of the size; the rounded network's embeddings stay close.
func TestMarshalCompact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n, err := New(Config{Input: 60, Width: 64, Dim: 256}, r)
	if err != nil {
		t.Fatal(err)
	}
	frames := make([]float32, 300*60)
	for i := range frames {
		frames[i] = float32(r.NormFloat64())
	}
	before, _ := n.Embed(frames)
	full, _ := n.MarshalBinary()
	b, err := n.MarshalCompact()
	if err != nil {
		t.Fatal(err)
	}
	n.Round()
	m, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !Equal(n, m) {
		t.Fatal("the compact form does not decode to the rounded network")
	}
	if len(b) > len(full)*3/10 {
		t.Errorf("compact form %d bytes, float32 %d", len(b), len(full))
	}
	after, _ := m.Embed(frames)
	if c := cosine(before, after); c < 0.999 {
		t.Errorf("the rounded network's embedding has cosine %.5f with the original's", c)
	}
	small, _ := New(Config{Input: 6, Width: 4, Dim: 3}, r)
	b, _ = small.MarshalCompact()
	for cut := range len(b) {
		if _, err := Unmarshal(b[:cut]); !errors.Is(err, ErrInvalid) {
			t.Fatalf("cut at %d of %d bytes: %v, want ErrInvalid", cut, len(b), err)
		}
	}
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}
