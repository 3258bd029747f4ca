// AVX2 dot products of one vector against eight rows for dot.go. Each
// 128-bit half of an accumulator holds one row's four chains of dotf
// (chain j: the products of the elements i ≡ j mod 4, in order), so every
// row is summed with exactly dotf's roundings; multiply and add are
// separate instructions (no FMA) for the same reason.

//go:build amd64 && !purego

#include "textflag.h"

// ZEROSUMS clears the accumulators Y0–Y3 (two rows' four chains each).
#define ZEROSUMS \
	VXORPS Y0, Y0, Y0 \
	VXORPS Y1, Y1, Y1 \
	VXORPS Y2, Y2, Y2 \
	VXORPS Y3, Y3, Y3

// STORESUMS writes Y0–Y3 to the [8][4]float32 at R12 and leaves AVX.
#define STORESUMS \
	VMOVUPS Y0, 0(R12) \
	VMOVUPS Y1, 32(R12) \
	VMOVUPS Y2, 64(R12) \
	VMOVUPS Y3, 96(R12) \
	VZEROUPPER

// LOADROWS loads the eight row pointers at DI into BX CX DX SI R8 R9 R13 DI.
#define LOADROWS \
	MOVQ 0(DI), BX \
	MOVQ 8(DI), CX \
	MOVQ 16(DI), DX \
	MOVQ 24(DI), SI \
	MOVQ 32(DI), R8 \
	MOVQ 40(DI), R9 \
	MOVQ 48(DI), R13 \
	MOVQ 56(DI), DI

// F32ROW adds rows (rlo, rhi) multiplied by Y4 to Yacc, using Yt/Xt.
#define F32ROW(rlo, rhi, Yacc, Yt, Xt) \
	VMOVUPS     (rlo)(R10*1), Xt \
	VINSERTF128 $1, (rhi)(R10*1), Yt, Yt \
	VMULPS      Y4, Yt, Yt \
	VADDPS      Yt, Yacc, Yacc

// func dotRowsAVX2(a *float32, rows *[8]*float32, n int, sums *[8][4]float32)
// n a positive multiple of 4. Y0 holds rows 0 and 1, Y1 rows 2 and 3, ….
TEXT ·dotRowsAVX2(SB), NOSPLIT, $0-32
	MOVQ a+0(FP), AX
	MOVQ rows+8(FP), DI
	MOVQ n+16(FP), R11
	LOADROWS
	SHLQ $2, R11            // bytes
	XORQ R10, R10
	ZEROSUMS

f32_loop:
	VBROADCASTF128 (AX)(R10*1), Y4 // a[i:i+4] in both halves
	F32ROW(BX, CX, Y0, Y5, X5)
	F32ROW(DX, SI, Y1, Y6, X6)
	F32ROW(R8, R9, Y2, Y7, X7)
	F32ROW(R13, DI, Y3, Y8, X8)
	ADDQ           $16, R10
	CMPQ           R10, R11
	JLT            f32_loop

	MOVQ sums+24(FP), R12
	STORESUMS
	RET

// SCALES sets Yd to [scales[lo] ×4 | scales[hi] ×4] (R12 = scales).
#define SCALES(lo, hi, Yd, Xd) \
	VBROADCASTSS lo(R12), Xd \
	VBROADCASTSS hi(R12), X15 \
	VINSERTF128  $1, X15, Yd, Yd

// I8ROW adds rows (rlo, rhi) dequantised with Ysc and multiplied by Y4
// to Yacc, using Yt/Xt.
#define I8ROW(rlo, rhi, Ysc, Yacc, Yt, Xt) \
	VMOVD      (rlo)(R10*1), Xt \
	VPINSRD    $1, (rhi)(R10*1), Xt, Xt \
	VPMOVSXBD  Xt, Yt \
	VCVTDQ2PS  Yt, Yt \
	VMULPS     Ysc, Yt, Yt \
	VMULPS     Y4, Yt, Yt \
	VADDPS     Yt, Yacc, Yacc

// func dotRowsInt8AVX2(a *float32, rows *[8]*int8, scales *[8]float32, n int, sums *[8][4]float32)
// n a positive multiple of 4; row r holds the values float32(q)·scales[r].
TEXT ·dotRowsInt8AVX2(SB), NOSPLIT, $0-40
	MOVQ a+0(FP), AX
	MOVQ rows+8(FP), DI
	MOVQ scales+16(FP), R12
	MOVQ n+24(FP), R11
	LOADROWS
	SCALES(0, 4, Y8, X8)
	SCALES(8, 12, Y9, X9)
	SCALES(16, 20, Y10, X10)
	SCALES(24, 28, Y11, X11)
	XORQ   R10, R10         // element index
	ZEROSUMS

i8_loop:
	VBROADCASTF128 (AX)(R10*4), Y4
	I8ROW(BX, CX, Y8, Y0, Y5, X5)
	I8ROW(DX, SI, Y9, Y1, Y6, X6)
	I8ROW(R8, R9, Y10, Y2, Y7, X7)
	I8ROW(R13, DI, Y11, Y3, Y12, X12)
	ADDQ $4, R10
	CMPQ R10, R11
	JLT  i8_loop

	MOVQ sums+32(FP), R12
	STORESUMS
	RET

// QROW adds x·(a + x·b) of rows (rlo, rhi) to Yacc, x in Y4, using
// Ya/Xa and Yb/Xb. A row is interleaved by fours (a[0:4] b[0:4] a[4:8]
// …), so the chunk at x offset R10 bytes is at row offset 2·R10.
#define QROW(rlo, rhi, Yacc, Ya, Xa, Yb, Xb) \
	VMOVUPS     (rlo)(R10*2), Xa \
	VINSERTF128 $1, (rhi)(R10*2), Ya, Ya \
	VMOVUPS     16(rlo)(R10*2), Xb \
	VINSERTF128 $1, 16(rhi)(R10*2), Yb, Yb \
	VMULPS      Y4, Yb, Yb \
	VADDPS      Yb, Ya, Ya \
	VMULPS      Y4, Ya, Ya \
	VADDPS      Ya, Yacc, Yacc

// func quadRowsAVX2(x *float32, rows *[8]*float32, n int, sums *[8][4]float32)
// n a positive multiple of 4. Y0 holds rows 0 and 1, Y1 rows 2 and 3, ….
TEXT ·quadRowsAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), AX
	MOVQ rows+8(FP), DI
	MOVQ n+16(FP), R11
	LOADROWS
	SHLQ $2, R11            // bytes of x
	XORQ R10, R10
	ZEROSUMS

quad_loop:
	VBROADCASTF128 (AX)(R10*1), Y4 // x[i:i+4] in both halves
	QROW(BX, CX, Y0, Y5, X5, Y6, X6)
	QROW(DX, SI, Y1, Y7, X7, Y8, X8)
	QROW(R8, R9, Y2, Y9, X9, Y10, X10)
	QROW(R13, DI, Y3, Y11, X11, Y12, X12)
	ADDQ           $16, R10
	CMPQ           R10, R11
	JLT            quad_loop

	MOVQ sums+24(FP), R12
	STORESUMS
	RET
