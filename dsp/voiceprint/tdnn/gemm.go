package tdnn

import (
	"fmt"
	"sync"
)

// Matrix products for the layers and their gradients.
//
// gemm adds to every element of C the products of its row of A and its
// column of B in the order k = 0, 1, …, each product rounded to float32
// before it is added (no fused multiply-add). The AVX2 kernel vectorises
// across C's columns, never along k, so its sums are bit-identical to the
// portable loop's on every machine (TestGEMMMatchesPortable): training
// stays reproducible byte for byte, and an embedding is the same with or
// without the assembly.

// Kernel block: rows of A and columns of B one kernel call covers.
const (
	blockRows = 4
	blockCols = 16
	// blockK bounds the run of k one pass of the kernels takes, so the
	// slice of B they stream through stays in cache; splitting k leaves
	// the order of every element's additions unchanged.
	blockK = 256
)

// mat is a row-major float32 matrix view: element (i, j) at
// data[i*stride+j].
type mat struct {
	data       []float32
	rows, cols int
	stride     int
}

// newMat returns a zeroed rows × cols matrix.
func newMat(rows, cols int) mat {
	return mat{data: make([]float32, rows*cols), rows: rows, cols: cols, stride: cols}
}

func (m mat) row(i int) []float32 { return m.data[i*m.stride : i*m.stride+m.cols] }

// check panics unless the view's data holds all its elements.
func (m mat) check(name string) {
	if m.rows < 0 || m.cols < 0 || m.cols > m.stride && m.rows > 1 ||
		m.rows > 0 && (m.rows-1)*m.stride+m.cols > len(m.data) {
		panic(fmt.Sprintf("tdnn: matrix %s %d×%d stride %d over %d values", name, m.rows, m.cols, m.stride, len(m.data)))
	}
}

// gemm sets c += a·b, splitting c's rows among up to workers goroutines.
// The result does not depend on workers.
func gemm(c, a, b mat, workers int) {
	a.check("a")
	gemmOp(c, operand{a.data, a.rows, a.cols, a.stride, 1}, b, workers)
}

// gemmT sets c += aᵀ·b without forming aᵀ: the weight gradients' product
// of a layer's inputs over a batch's frames. Every element is summed as
// gemm(c, transpose(a), b) sums it, bit for bit.
func gemmT(c, a, b mat, workers int) {
	a.check("a")
	gemmOp(c, operand{a.data, a.cols, a.rows, 1, a.stride}, b, workers)
}

// operand is the left factor of a product: element (i, k) at
// data[i·rs + k·ks], so that a matrix and its transpose are both views.
type operand struct {
	data       []float32
	rows, cols int
	rs, ks     int
}

// gemmOp is gemm and gemmT: c += a·b for the view a.
func gemmOp(c mat, a operand, b mat, workers int) {
	if a.rows != c.rows || b.cols != c.cols || a.cols != b.rows {
		panic(fmt.Sprintf("tdnn: gemm of %d×%d and %d×%d into %d×%d", a.rows, a.cols, b.rows, b.cols, c.rows, c.cols))
	}
	b.check("b")
	c.check("c")
	blocks := (c.rows + blockRows - 1) / blockRows
	split(min(workers, blocks/4), blocks, func(lo, hi int) {
		gemmRows(c, a, b, lo*blockRows, min(c.rows, hi*blockRows))
	})
}

// split calls fn on ranges [lo, hi) that cover [0, n) in order, each
// in a goroutine of its own when workers > 1, and waits for them. The
// training passes split by channel or by crop, so that every sum still
// runs in its one order and the result does not depend on workers.
func split(workers, n int, fn func(lo, hi int)) {
	workers = max(1, min(workers, n))
	if workers == 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

// gemmRows is gemm for c's rows [lo, hi).
func gemmRows(c mat, a operand, b mat, lo, hi int) {
	n, k := c.cols, a.cols
	fullRows := lo + (hi-lo)/blockRows*blockRows
	fullCols := n / blockCols * blockCols
	for k0 := 0; k0 < k; k0 += blockK {
		kn := min(blockK, k-k0)
		if useAVX2 {
			for i := lo; i < fullRows; i += blockRows {
				for j := 0; j < fullCols; j += blockCols {
					gemm4x16AVX2(&a.data[i*a.rs+k0*a.ks], a.rs, a.ks, &b.data[k0*b.stride+j], b.stride,
						&c.data[i*c.stride+j], c.stride, kn)
				}
			}
			gemmPortable(c, a, b, lo, fullRows, fullCols, n, k0, kn)
			gemmPortable(c, a, b, fullRows, hi, 0, n, k0, kn)
		} else {
			gemmPortable(c, a, b, lo, hi, 0, n, k0, kn)
		}
	}
}

// gemmPortable adds the products over k in [k0, k0+kn) to c's rows
// [i0, i1) and columns [j0, j1).
func gemmPortable(c mat, a operand, b mat, i0, i1, j0, j1, k0, kn int) {
	if j0 >= j1 {
		return
	}
	for i := i0; i < i1; i++ {
		ci := c.data[i*c.stride+j0 : i*c.stride+j1]
		for kk := k0; kk < k0+kn; kk++ {
			av := a.data[i*a.rs+kk*a.ks]
			bk := b.data[kk*b.stride+j0 : kk*b.stride+j1]
			for j := range ci {
				ci[j] += float32(av * bk[j])
			}
		}
	}
}

// transpose returns mᵀ as a new matrix.
func transpose(m mat) mat {
	t := newMat(m.cols, m.rows)
	for i := 0; i < m.rows; i++ {
		for j, v := range m.row(i) {
			t.data[j*t.stride+i] = v
		}
	}
	return t
}
