package tdnn

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
)

// A serialised network: the magic, a little-endian uint32 length and a
// JSON header (the Config and the tensors' names and lengths, in order),
// then every tensor as little-endian float32 values in that order: the
// input mean and deviation; each layer's weight, bias, γ, β, running mean
// and running variance; the embedding's weight and bias.

const magic = "VXTDNN01"

// maxHeader bounds the JSON header a decoder reads.
const maxHeader = 1 << 16

type header struct {
	Config
	Tensors []tensorInfo `json:"tensors"`
}

type tensorInfo struct {
	Name string `json:"name"`
	Len  int    `json:"len"`
}

// tensors lists every stored tensor in the file's order.
func (n *Net) tensors() []Param {
	ps := []Param{{Name: "input.mean", Value: n.Mu}, {Name: "input.sd", Value: n.Sd}}
	for i, l := range n.layers {
		p := fmt.Sprintf("layer%d.", i+1)
		ps = append(ps, Param{Name: p + "weight", Value: l.W.data}, Param{Name: p + "bias", Value: l.B},
			Param{Name: p + "gamma", Value: l.Gamma}, Param{Name: p + "beta", Value: l.Beta},
			Param{Name: p + "running_mean", Value: l.Mean}, Param{Name: p + "running_var", Value: l.Var})
	}
	return append(ps, Param{Name: "embed.weight", Value: n.EW.data}, Param{Name: "embed.bias", Value: n.EB})
}

// values is the number of values a network of shape c stores, computed
// before anything is allocated for it.
func (c Config) values() int {
	n := 2 * c.Input
	for _, s := range c.specs() {
		n += s.ctx*s.in*s.out + 5*s.out
	}
	return n + 6*c.Width*c.Dim + c.Dim
}

// MarshalBinary encodes the network.
func (n *Net) MarshalBinary() ([]byte, error) {
	h := header{Config: n.Config}
	ts := n.tensors()
	values := 0
	for _, t := range ts {
		h.Tensors = append(h.Tensors, tensorInfo{t.Name, len(t.Value)})
		values += len(t.Value)
	}
	js, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(magic)+4+len(js)+4*values)
	b = append(b, magic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(js)))
	b = append(b, js...)
	for _, t := range ts {
		for _, v := range t.Value {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	return b, nil
}

// Unmarshal decodes a network MarshalBinary encoded. Anything else (a
// truncated or altered file, another shape, non-finite values, a
// variance or deviation that is not positive) is an error wrapping
// ErrInvalid.
func Unmarshal(b []byte) (*Net, error) {
	if len(b) < len(magic)+4 || string(b[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: not a serialised network", ErrInvalid)
	}
	b = b[len(magic):]
	hl := binary.LittleEndian.Uint32(b)
	b = b[4:]
	if hl > maxHeader || int(hl) > len(b) {
		return nil, fmt.Errorf("%w: a header of %d bytes in %d", ErrInvalid, hl, len(b))
	}
	var h header
	if err := json.Unmarshal(b[:hl], &h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrInvalid, err)
	}
	b = b[hl:]
	if err := h.Config.validate(); err != nil {
		return nil, err
	}
	if want := h.Config.values(); len(b) != 4*want {
		return nil, fmt.Errorf("%w: %d bytes of values, the shape %+v has %d values", ErrInvalid, len(b), h.Config, want)
	}
	n, err := New(h.Config, nil)
	if err != nil {
		return nil, err
	}
	ts := n.tensors()
	if len(h.Tensors) != len(ts) {
		return nil, fmt.Errorf("%w: %d tensors, the shape has %d", ErrInvalid, len(h.Tensors), len(ts))
	}
	for i, t := range ts {
		if h.Tensors[i].Name != t.Name || h.Tensors[i].Len != len(t.Value) {
			return nil, fmt.Errorf("%w: tensor %d is %s of %d values, want %s of %d", ErrInvalid, i, h.Tensors[i].Name, h.Tensors[i].Len, t.Name, len(t.Value))
		}
		for j := range t.Value {
			v := math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("%w: %s[%d] is %v", ErrInvalid, t.Name, j, v)
			}
			t.Value[j] = v
		}
		b = b[4*len(t.Value):]
	}
	for _, v := range n.Sd {
		if v <= 0 {
			return nil, fmt.Errorf("%w: an input deviation of %v", ErrInvalid, v)
		}
	}
	for _, l := range n.layers {
		for _, v := range l.Var {
			if v < 0 {
				return nil, fmt.Errorf("%w: a running variance of %v", ErrInvalid, v)
			}
		}
	}
	return n, nil
}

// Equal reports whether two networks have the same shape and values, bit
// for bit.
func Equal(a, b *Net) bool {
	x, err1 := a.MarshalBinary()
	y, err2 := b.MarshalBinary()
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
