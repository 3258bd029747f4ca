// The AVX2 kernel of gemm.go: a 4×16 block of C held in eight YMM
// registers, each step broadcasting one value of each A row and
// multiplying it by 16 values of a B row. Multiply and add are separate
// instructions (no FMA), so every element is summed with exactly the
// portable loop's roundings.

//go:build amd64 && !purego

#include "textflag.h"

// ROW multiplies the broadcast A value at (arow)(BX*1) by Y8 and Y9 and
// adds the products to acc0 and acc1.
#define ROW(arow, acc0, acc1) \
	VBROADCASTSS (arow)(BX*1), Y10 \
	VMULPS       Y8, Y10, Y11 \
	VADDPS       Y11, acc0, acc0 \
	VMULPS       Y9, Y10, Y12 \
	VADDPS       Y12, acc1, acc1

// func gemm4x16AVX2(a *float32, lda, ka int, b *float32, ldb int, c *float32, ldc int, k int)
// A's element (i, k) is at a[i·lda + k·ka].
TEXT ·gemm4x16AVX2(SB), NOSPLIT, $0-64
	MOVQ a+0(FP), AX
	MOVQ lda+8(FP), BX
	MOVQ b+24(FP), CX
	MOVQ ldb+32(FP), DX
	MOVQ c+40(FP), DI
	MOVQ ldc+48(FP), SI
	MOVQ k+56(FP), R8
	SHLQ $2, BX
	SHLQ $2, DX
	SHLQ $2, SI

	// A rows in AX R9 R10 R11, C rows in DI R12 R13 R14.
	LEAQ (AX)(BX*1), R9
	LEAQ (R9)(BX*1), R10
	LEAQ (R10)(BX*1), R11
	LEAQ (DI)(SI*1), R12
	LEAQ (R12)(SI*1), R13
	LEAQ (R13)(SI*1), R14

	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS (R12), Y2
	VMOVUPS 32(R12), Y3
	VMOVUPS (R13), Y4
	VMOVUPS 32(R13), Y5
	VMOVUPS (R14), Y6
	VMOVUPS 32(R14), Y7

	MOVQ  ka+16(FP), SI // bytes from one k to the next in an A row
	SHLQ  $2, SI
	XORQ  BX, BX // byte offset of the current k in the A rows
	TESTQ R8, R8
	JEQ   done

loop:
	VMOVUPS (CX), Y8
	VMOVUPS 32(CX), Y9
	ROW(AX, Y0, Y1)
	ROW(R9, Y2, Y3)
	ROW(R10, Y4, Y5)
	ROW(R11, Y6, Y7)
	ADDQ SI, BX
	ADDQ DX, CX
	DECQ R8
	JNZ  loop

done:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, (R12)
	VMOVUPS Y3, 32(R12)
	VMOVUPS Y4, (R13)
	VMOVUPS Y5, 32(R13)
	VMOVUPS Y6, (R14)
	VMOVUPS Y7, 32(R14)
	VZEROUPPER
	RET
