//go:build amd64 && !purego

#include "textflag.h"

// HSUM adds the 8 lanes of Y into the low lane of X (X is Y's low half),
// always in the same order: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
#define HSUM(Y, X, T) \
	VEXTRACTF128 $1, Y, T \
	VADDPS T, X, X \
	VMOVHLPS X, X, T \
	VADDPS T, X, X \
	VMOVSHDUP X, T \
	VADDSS T, X, X

// func resampleDotAVX2(a, b *float32, n int) float32
TEXT ·resampleDotAVX2(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	CMPQ CX, $16
	JB   tail
pair:
	VMOVUPS (SI), Y2
	VMOVUPS 32(SI), Y3
	VFMADD231PS (DI), Y2, Y0
	VFMADD231PS 32(DI), Y3, Y1
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	CMPQ CX, $16
	JAE  pair
tail:
	TESTQ CX, CX
	JZ   done
	VMOVUPS (SI), Y2
	VFMADD231PS (DI), Y2, Y0
done:
	VADDPS Y1, Y0, Y0
	HSUM(Y0, X0, X5)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func resampleDotSeqAVX2(c, x *float32, n int) float32
TEXT ·resampleDotSeqAVX2(SB), NOSPLIT, $0-28
	MOVQ c+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
seq:
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  seq
	HSUM(Y0, X0, X5)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func resampleDot4AVX2(c, x *float32, n, stride int, out *[4]float32)
TEXT ·resampleDot4AVX2(SB), NOSPLIT, $0-40
	MOVQ c+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n+16(FP), CX
	MOVQ stride+24(FP), DX
	SHLQ $2, DX
	LEAQ (DI)(DX*1), R8
	LEAQ (R8)(DX*1), R9
	LEAQ (R9)(DX*1), R10
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
four:
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS (R8), Y4, Y1
	VFMADD231PS (R9), Y4, Y2
	VFMADD231PS (R10), Y4, Y3
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	SUBQ $8, CX
	JNZ  four
	MOVQ out+32(FP), AX
	HSUM(Y0, X0, X5)
	MOVSS X0, 0(AX)
	HSUM(Y1, X1, X5)
	MOVSS X1, 4(AX)
	HSUM(Y2, X2, X5)
	MOVSS X2, 8(AX)
	HSUM(Y3, X3, X5)
	MOVSS X3, 12(AX)
	VZEROUPPER
	RET
