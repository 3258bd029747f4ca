package tdnn

import (
	"fmt"
	"math"
)

// The training mode: Forward keeps what Backward needs, and Backward adds
// the gradients of a loss to Params' Grad.

// bnMomentum is the weight of a batch's statistics in the running ones
// (PyTorch's default).
const bnMomentum = 0.1

// Forward runs crops of equal length (x: crops·frames rows of Input
// values, already normalised with Mu and Sd) through the network in
// training mode: batch normalisation with the batch's statistics, which
// also update the running ones. It returns the embeddings, one row a crop,
// and keeps what Backward needs until the next call.
func (n *Net) Forward(x []float32, crops int) ([][]float32, error) {
	if crops < 1 || len(x)%(crops*n.Input) != 0 || len(x)/(crops*n.Input) < n.Context() {
		return nil, fmt.Errorf("tdnn: %d values are not %d crops of at least %d frames of %d values", len(x), crops, n.Context(), n.Input)
	}
	in := mat{data: x, rows: len(x) / n.Input, cols: n.Input, stride: n.Input}
	workers := max(1, n.Workers)
	for _, l := range n.layers {
		cols, z := l.conv(in, crops, workers)
		l.x, l.z = cols, z
		in = l.normalise(z, workers)
	}
	n.crops, n.frames, n.last = crops, in.rows/crops, in
	n.pooled = newMat(crops, n.EW.rows)
	n.sd = make([]float32, crops*in.cols)
	pool(n.pooled, in, crops, n.sd)
	e := newMat(crops, n.Dim)
	for r := range crops {
		copy(e.row(r), n.EB)
	}
	gemm(e, n.pooled, n.EW, workers)
	out := make([][]float32, crops)
	for r := range out {
		out[r] = e.row(r)
	}
	return out, nil
}

// normalise applies the ReLU to z in place and returns its batch
// normalisation, keeping the normalised values and 1/σ for the backward
// pass and updating the running statistics. Channels are split among
// workers (each walks all rows, in order, over its channels), so every
// channel's sums run as they would on one goroutine.
func (l *layer) normalise(z mat, workers int) mat {
	rows, c := z.rows, z.cols
	sum, sq, mean := make([]float64, c), make([]float64, c), make([]float64, c)
	l.invStd = make([]float32, c)
	l.xhat = take(&l.buf.xhat, rows, c)
	y := take(&l.buf.y, rows, c)
	split(workers, c, func(j0, j1 int) {
		for r := range rows {
			row := z.row(r)[j0:j1]
			s := sum[j0:j1]
			for j, v := range row {
				v = max(v, 0)
				row[j] = v
				s[j] += float64(v)
			}
		}
		for j := j0; j < j1; j++ {
			mean[j] = sum[j] / float64(rows)
		}
		for r := range rows {
			m, q := mean[j0:j1], sq[j0:j1]
			for j, v := range z.row(r)[j0:j1] {
				d := float64(v) - m[j]
				q[j] += d * d
			}
		}
		for j := j0; j < j1; j++ {
			v := sq[j] / float64(rows)
			l.invStd[j] = float32(1 / math.Sqrt(v+bnEps))
			unbiased := v * float64(rows) / float64(max(rows-1, 1))
			l.Mean[j] = float32((1-bnMomentum)*float64(l.Mean[j]) + bnMomentum*mean[j])
			l.Var[j] = float32((1-bnMomentum)*float64(l.Var[j]) + bnMomentum*unbiased)
		}
		m, inv, gamma, beta := mean[j0:j1], l.invStd[j0:j1], l.Gamma[j0:j1], l.Beta[j0:j1]
		for r := range rows {
			zr, xr, yr := z.row(r)[j0:j1], l.xhat.row(r)[j0:j1], y.row(r)[j0:j1]
			for j, v := range zr {
				xr[j] = float32(float64(v)-m[j]) * inv[j]
				yr[j] = gamma[j]*xr[j] + beta[j]
			}
		}
	})
	return y
}

// Backward adds to the gradients those of a loss whose gradient with
// respect to the embeddings of the last Forward is dEmb (one row a crop).
func (n *Net) Backward(dEmb [][]float32) error {
	if n.pooled.data == nil || len(dEmb) != n.crops {
		return fmt.Errorf("tdnn: Backward of %d embeddings after a Forward of %d crops", len(dEmb), n.crops)
	}
	n.Params() // allocates the gradients
	workers := max(1, n.Workers)
	de := newMat(n.crops, n.Dim)
	for r, g := range dEmb {
		if len(g) != n.Dim {
			return fmt.Errorf("tdnn: an embedding gradient of %d values, want %d", len(g), n.Dim)
		}
		copy(de.row(r), g)
		for j, v := range g {
			n.gEB[j] += v
		}
	}
	gemmT(mat{data: n.gEW, rows: n.EW.rows, cols: n.EW.cols, stride: n.EW.cols}, n.pooled, de, workers)
	dp := newMat(n.crops, n.EW.rows)
	gemm(dp, de, transpose(n.EW), workers)

	// Statistics pooling.
	x, t, c := n.last, n.frames, n.last.cols
	dy := take(&n.dyBuf, x.rows, c) // every element is set below
	for b := range n.crops {
		p, g := n.pooled.row(b), dp.row(b)
		for j := range c {
			dm := g[j] / float32(t)
			var ds float32
			if sd := n.sd[b*c+j]; sd > 0 {
				ds = g[c+j] / (float32(t) * sd)
			}
			for r := range t {
				i := (b*t+r)*x.stride + j
				dy.data[(b*t+r)*c+j] = dm + ds*(x.data[i]-p[j])
			}
		}
	}
	for i := len(n.layers) - 1; i >= 0; i-- {
		dy = n.layers[i].backward(dy, n.crops, i > 0, workers)
	}
	return nil
}

// backward takes the gradient of the layer's output and returns that of
// its input (when input is set). Channels are split among workers as in
// normalise, and crops where the input's gradient gathers, so every sum
// runs in the order it would on one goroutine.
func (l *layer) backward(dy mat, crops int, input bool, workers int) mat {
	rows, c := dy.rows, dy.cols
	sdx, sdxx := make([]float64, c), make([]float64, c)
	dz := take(&l.buf.dz, rows, c)
	split(workers, c, func(j0, j1 int) {
		gGamma, gBeta, gamma := l.gGamma[j0:j1], l.gBeta[j0:j1], l.Gamma[j0:j1]
		sx, sxx := sdx[j0:j1], sdxx[j0:j1]
		for r := range rows {
			g, xh := dy.row(r)[j0:j1], l.xhat.row(r)[j0:j1]
			for j := range g {
				gGamma[j] += g[j] * xh[j]
				gBeta[j] += g[j]
				d := float64(g[j] * gamma[j])
				sx[j] += d
				sxx[j] += d * float64(xh[j])
			}
		}
		for j := range sx {
			sx[j] /= float64(rows) // the mean, as the loop below subtracts it
		}
		gB, inv := l.gB[j0:j1], l.invStd[j0:j1]
		for r := range rows {
			g, xh, z, out := dy.row(r)[j0:j1], l.xhat.row(r)[j0:j1], l.z.row(r)[j0:j1], dz.row(r)[j0:j1]
			for j := range g {
				if z[j] <= 0 {
					out[j] = 0
					continue
				}
				d := float64(g[j]*gamma[j]) - sx[j] - float64(xh[j])*sxx[j]/float64(rows)
				out[j] = float32(d) * inv[j]
				gB[j] += out[j]
			}
		}
	})
	gemmT(mat{data: l.gW, rows: l.W.rows, cols: l.W.cols, stride: l.W.cols}, l.x, dz, workers)
	if !input {
		return mat{}
	}
	dcols := take(&l.buf.dcols, rows, l.W.rows)
	clear(dcols.data)
	gemm(dcols, dz, transpose(l.W), workers)
	if l.ctx == 1 {
		return dcols
	}
	tout := rows / crops
	tin := tout + (l.ctx-1)*l.dil
	dx := take(&l.buf.dx, crops*tin, l.in)
	split(workers, crops, func(b0, b1 int) {
		clear(dx.data[b0*tin*l.in : b1*tin*l.in])
		for b := b0; b < b1; b++ {
			for t := range tout {
				row := dcols.row(b*tout + t)
				for k := range l.ctx {
					d := dx.row(b*tin + t + k*l.dil)
					for i, v := range row[k*l.in : (k+1)*l.in] {
						d[i] += v
					}
				}
			}
		}
	})
	return dx
}
