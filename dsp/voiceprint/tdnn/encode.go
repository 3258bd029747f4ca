package tdnn

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	"github.com/voxward/voxward/internal/compact"
)

// A serialised network: the magic, a little-endian uint32 length and a
// JSON header (the Config and the tensors' names and lengths, in order),
// then every tensor in that order: the input mean and deviation; each
// layer's weight, bias, γ, β, running mean and running variance; the
// embedding's weight and bias. Tensors are little-endian float32 values,
// except in the compact form (MarshalCompact), where each weight matrix
// is stored one output channel at a time as 8-bit rows
// (internal/compact): about a quarter of the size.

const (
	magic        = "VXTDNN01"
	magicCompact = "VXTDNQ01"
)

// weightBits is the precision of the compact form's weights.
const weightBits = 8

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

// tensor is a stored tensor; a weight matrix has its view in m.
type tensor struct {
	name  string
	value []float32
	m     *mat
}

// tensors lists every stored tensor in the file's order.
func (n *Net) tensors() []tensor {
	ts := []tensor{{name: "input.mean", value: n.Mu}, {name: "input.sd", value: n.Sd}}
	for i, l := range n.layers {
		p := fmt.Sprintf("layer%d.", i+1)
		ts = append(ts, tensor{p + "weight", l.W.data, &l.W}, tensor{name: p + "bias", value: l.B},
			tensor{name: p + "gamma", value: l.Gamma}, tensor{name: p + "beta", value: l.Beta},
			tensor{name: p + "running_mean", value: l.Mean}, tensor{name: p + "running_var", value: l.Var})
	}
	return append(ts, tensor{"embed.weight", n.EW.data, &n.EW}, tensor{name: "embed.bias", value: n.EB})
}

// Round rounds every weight matrix to what the compact form stores, in
// place: the network then computes what it will compute after
// MarshalCompact and Unmarshal, bit for bit.
func (n *Net) Round() {
	for _, t := range n.tensors() {
		if t.m != nil {
			channels := transpose(*t.m)
			r := transpose(mat{data: compact.RoundRows(channels.data, channels.cols, weightBits), rows: channels.rows, cols: channels.cols, stride: channels.cols})
			copy(t.value, r.data)
		}
	}
}

// bytes is the size of the tensors of a network of shape c, computed
// before anything is allocated for it.
func (c Config) bytes(compactForm bool) int {
	weights := func(rows, cols int) int {
		if compactForm {
			return cols * compact.RowBytes(rows, weightBits)
		}
		return 4 * rows * cols
	}
	n := 4 * 2 * c.Input
	for _, s := range c.specs() {
		n += weights(s.ctx*s.in, s.out) + 4*5*s.out
	}
	return n + weights(6*c.Width, c.Dim) + 4*c.Dim
}

// MarshalBinary encodes the network with float32 weights.
func (n *Net) MarshalBinary() ([]byte, error) { return n.marshal(false) }

// MarshalCompact encodes the network with 8-bit weights: a network
// decoded from it computes as this one after Round.
func (n *Net) MarshalCompact() ([]byte, error) { return n.marshal(true) }

func (n *Net) marshal(compactForm bool) ([]byte, error) {
	h := header{Config: n.Config}
	ts := n.tensors()
	for _, t := range ts {
		h.Tensors = append(h.Tensors, tensorInfo{t.name, len(t.value)})
	}
	js, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if compactForm {
		b.WriteString(magicCompact)
	} else {
		b.WriteString(magic)
	}
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(js)))
	b.Write(js)
	for _, t := range ts {
		if compactForm && t.m != nil {
			channels := transpose(*t.m)
			compact.WriteRows(&b, channels.data, channels.cols, weightBits)
			continue
		}
		_ = binary.Write(&b, binary.LittleEndian, t.value)
	}
	return b.Bytes(), nil
}

// Unmarshal decodes a network MarshalBinary encoded. Anything else (a
// truncated or altered file, another shape, non-finite values, a
// variance or deviation that is not positive) is an error wrapping
// ErrInvalid.
func Unmarshal(b []byte) (*Net, error) {
	if len(b) < len(magic)+4 || string(b[:len(magic)]) != magic && string(b[:len(magic)]) != magicCompact {
		return nil, fmt.Errorf("%w: not a serialised network", ErrInvalid)
	}
	compactForm := string(b[:len(magic)]) == magicCompact
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
	if want := h.Config.bytes(compactForm); len(b) != want {
		return nil, fmt.Errorf("%w: %d bytes of values, the shape %+v stores %d", ErrInvalid, len(b), h.Config, want)
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
		if h.Tensors[i].Name != t.name || h.Tensors[i].Len != len(t.value) {
			return nil, fmt.Errorf("%w: tensor %d is %s of %d values, want %s of %d", ErrInvalid, i, h.Tensors[i].Name, h.Tensors[i].Len, t.name, len(t.value))
		}
		if compactForm && t.m != nil {
			var rows []float32
			rows, b = compact.ReadRows(b, t.m.cols, t.m.rows, weightBits)
			copy(t.value, transpose(mat{data: rows, rows: t.m.cols, cols: t.m.rows, stride: t.m.rows}).data)
		} else {
			for j := range t.value {
				t.value[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
			}
			b = b[4*len(t.value):]
		}
		for j, v := range t.value {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("%w: %s[%d] is %v", ErrInvalid, t.name, j, v)
			}
		}
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
