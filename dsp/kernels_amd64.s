// AVX2 + FMA kernels for the eight-lane frame blocks of kernels.go. Each
// routine matches the Go function of the same name without the AVX2
// suffix; see there for what it computes. Lanes never mix, so every frame
// in a block is computed by the same instructions.

//go:build amd64 && !purego

#include "textflag.h"

// TRANSPOSE8 transposes the 8×8 matrix of floats in Y0..Y7 (row i in Yi)
// in place, using Y8..Y15.
#define TRANSPOSE8 \
	VUNPCKLPS Y1, Y0, Y8 \
	VUNPCKHPS Y1, Y0, Y9 \
	VUNPCKLPS Y3, Y2, Y10 \
	VUNPCKHPS Y3, Y2, Y11 \
	VUNPCKLPS Y5, Y4, Y12 \
	VUNPCKHPS Y5, Y4, Y13 \
	VUNPCKLPS Y7, Y6, Y14 \
	VUNPCKHPS Y7, Y6, Y15 \
	VSHUFPS $0x44, Y10, Y8, Y0 \
	VSHUFPS $0xEE, Y10, Y8, Y1 \
	VSHUFPS $0x44, Y11, Y9, Y2 \
	VSHUFPS $0xEE, Y11, Y9, Y3 \
	VSHUFPS $0x44, Y14, Y12, Y4 \
	VSHUFPS $0xEE, Y14, Y12, Y5 \
	VSHUFPS $0x44, Y15, Y13, Y6 \
	VSHUFPS $0xEE, Y15, Y13, Y7 \
	VPERM2F128 $0x20, Y4, Y0, Y8 \
	VPERM2F128 $0x20, Y5, Y1, Y9 \
	VPERM2F128 $0x20, Y6, Y2, Y10 \
	VPERM2F128 $0x20, Y7, Y3, Y11 \
	VPERM2F128 $0x31, Y4, Y0, Y12 \
	VPERM2F128 $0x31, Y5, Y1, Y13 \
	VPERM2F128 $0x31, Y6, Y2, Y14 \
	VPERM2F128 $0x31, Y7, Y3, Y15 \
	VMOVAPS Y8, Y0 \
	VMOVAPS Y9, Y1 \
	VMOVAPS Y10, Y2 \
	VMOVAPS Y11, Y3 \
	VMOVAPS Y12, Y4 \
	VMOVAPS Y13, Y5 \
	VMOVAPS Y14, Y6 \
	VMOVAPS Y15, Y7

// func transposeInAVX2(dst, src *float32, stride, n int)
// dst[8i+l] = src[l*stride+i], n a multiple of 8.
TEXT ·transposeInAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ stride+16(FP), BX
	MOVQ n+24(FP), CX
	SHLQ $2, BX             // stride in bytes
	LEAQ (BX)(BX*2), R8     // 3·stride
	LEAQ (BX)(BX*4), R9     // 5·stride
	LEAQ (R8)(R8*1), R10    // 6·stride
	LEAQ (R10)(BX*1), R11   // 7·stride
	SHRQ $3, CX
	JZ   tin_done
tin_loop:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(BX*1), Y1
	VMOVUPS (SI)(BX*2), Y2
	VMOVUPS (SI)(R8*1), Y3
	VMOVUPS (SI)(BX*4), Y4
	VMOVUPS (SI)(R9*1), Y5
	VMOVUPS (SI)(R10*1), Y6
	VMOVUPS (SI)(R11*1), Y7
	TRANSPOSE8
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	ADDQ $32, SI
	ADDQ $256, DI
	DECQ CX
	JNZ  tin_loop
tin_done:
	VZEROUPPER
	RET

// func transposeOutAVX2(dst *float32, stride int, src *float32, rows int)
// dst[f*stride+r] = src[8r+f] for all eight frames f, rows a multiple of 8.
TEXT ·transposeOutAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ stride+8(FP), BX
	MOVQ src+16(FP), SI
	MOVQ rows+24(FP), CX
	SHLQ $2, BX
	LEAQ (BX)(BX*2), R8
	LEAQ (BX)(BX*4), R9
	LEAQ (R8)(R8*1), R10
	LEAQ (R10)(BX*1), R11
	SHRQ $3, CX
	JZ   tout_done
tout_loop:
	VMOVUPS 0(SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VMOVUPS 128(SI), Y4
	VMOVUPS 160(SI), Y5
	VMOVUPS 192(SI), Y6
	VMOVUPS 224(SI), Y7
	TRANSPOSE8
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, (DI)(BX*1)
	VMOVUPS Y2, (DI)(BX*2)
	VMOVUPS Y3, (DI)(R8*1)
	VMOVUPS Y4, (DI)(BX*4)
	VMOVUPS Y5, (DI)(R9*1)
	VMOVUPS Y6, (DI)(R10*1)
	VMOVUPS Y7, (DI)(R11*1)
	ADDQ $256, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  tout_loop
tout_done:
	VZEROUPPER
	RET

// func laneSumsAVX2(s *[8]float32, x *float32, rows int)
TEXT ·laneSumsAVX2(SB), NOSPLIT, $0-24
	MOVQ s+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ rows+16(FP), CX
	VXORPS Y0, Y0, Y0
	TESTQ CX, CX
	JZ   sums_done
sums_loop:
	VADDPS (SI), Y0, Y0
	ADDQ $32, SI
	DECQ CX
	JNZ  sums_loop
sums_done:
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// func laneSumSquaresAVX2(s *[8]float32, x *float32, rows int, mean *[8]float32)
TEXT ·laneSumSquaresAVX2(SB), NOSPLIT, $0-32
	MOVQ s+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ rows+16(FP), CX
	MOVQ mean+24(FP), AX
	VMOVUPS (AX), Y1
	VXORPS Y0, Y0, Y0
	TESTQ CX, CX
	JZ   sq_done
sq_loop:
	VMOVUPS (SI), Y2
	VSUBPS Y1, Y2, Y2
	VFMADD231PS Y2, Y2, Y0
	ADDQ $32, SI
	DECQ CX
	JNZ  sq_loop
sq_done:
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// func laneMinScaledAVX2(m *[8]float32, x, scale *float32, rows int)
// m = min over rows i of x[8i+l]·scale[i]; rows ≥ 1.
TEXT ·laneMinScaledAVX2(SB), NOSPLIT, $0-32
	MOVQ m+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ scale+16(FP), DX
	MOVQ rows+24(FP), CX
	VBROADCASTSS (DX), Y1
	VMULPS (SI), Y1, Y0
	DECQ CX
	JZ   lm_done
lm_loop:
	ADDQ $32, SI
	ADDQ $4, DX
	VBROADCASTSS (DX), Y1
	VMULPS (SI), Y1, Y1
	VMINPS Y1, Y0, Y0
	DECQ CX
	JNZ  lm_loop
lm_done:
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// func preemphWindowAVX2(re, im, x, win *float32, mean *[8]float32, coeff float32, n, half int)
// n even. Row i of x (minus mean) is pre-emphasised, windowed and written
// to re (even i) or im (odd i); rows n/2..half-1 of re and im are zeroed.
TEXT ·preemphWindowAVX2(SB), NOSPLIT, $0-64
	MOVQ re+0(FP), R8
	MOVQ im+8(FP), R9
	MOVQ x+16(FP), SI
	MOVQ win+24(FP), DX
	MOVQ mean+32(FP), AX
	VBROADCASTSS coeff+40(FP), Y14
	MOVQ n+48(FP), CX
	MOVQ half+56(FP), BX
	VMOVUPS (AX), Y15
	SHRQ $1, CX             // row pairs
	SUBQ CX, BX             // rows to zero
	VMOVUPS (SI), Y0
	VSUBPS Y15, Y0, Y0      // prev = v_0 (Kaldi's first-sample rule)
	TESTQ CX, CX
	JZ   pw_zero
pw_loop:
	VMOVUPS (SI), Y1
	VSUBPS Y15, Y1, Y1      // v_even
	VMOVUPS 32(SI), Y2
	VSUBPS Y15, Y2, Y2      // v_odd
	VMOVAPS Y1, Y3
	VFNMADD231PS Y0, Y14, Y3 // v_even - c·prev
	VBROADCASTSS (DX), Y4
	VMULPS Y4, Y3, Y3
	VMOVUPS Y3, (R8)
	VMOVAPS Y2, Y5
	VFNMADD231PS Y1, Y14, Y5 // v_odd - c·v_even
	VBROADCASTSS 4(DX), Y6
	VMULPS Y6, Y5, Y5
	VMOVUPS Y5, (R9)
	VMOVAPS Y2, Y0
	ADDQ $64, SI
	ADDQ $8, DX
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ CX
	JNZ  pw_loop
pw_zero:
	VXORPS Y0, Y0, Y0
	TESTQ BX, BX
	JZ   pw_done
pw_zloop:
	VMOVUPS Y0, (R8)
	VMOVUPS Y0, (R9)
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ BX
	JNZ  pw_zloop
pw_done:
	VZEROUPPER
	RET

// func fftStageAVX2(yr, yi, xr, xi, wr, wi *float32, m, s int)
// One radix-2 Stockham stage; see fftStageGo.
TEXT ·fftStageAVX2(SB), NOSPLIT, $0-64
	MOVQ yr+0(FP), R12
	MOVQ yi+8(FP), R13
	MOVQ xr+16(FP), R10
	MOVQ xi+24(FP), R11
	MOVQ wr+32(FP), AX
	MOVQ wi+40(FP), DI
	MOVQ m+48(FP), CX
	MOVQ s+56(FP), DX
	MOVQ DX, BX
	IMULQ CX, BX
	SHLQ $5, BX             // distance from a to b: 32·s·m bytes
	SHLQ $5, DX             // distance from y0 to y1: 32·s bytes
	MOVQ s+56(FP), R15
fs_outer:
	VBROADCASTSS (AX), Y14  // c
	VBROADCASTSS (DI), Y15  // d
	MOVQ R15, R14
fs_inner:
	VMOVUPS (R10), Y0
	VMOVUPS (R11), Y1
	VMOVUPS (R10)(BX*1), Y2
	VMOVUPS (R11)(BX*1), Y3
	VADDPS Y2, Y0, Y4
	VADDPS Y3, Y1, Y5
	VSUBPS Y2, Y0, Y6
	VSUBPS Y3, Y1, Y7
	VMOVUPS Y4, (R12)
	VMOVUPS Y5, (R13)
	VMULPS Y14, Y6, Y8
	VFNMADD231PS Y15, Y7, Y8 // tr·c - ti·d
	VMULPS Y15, Y6, Y9
	VFMADD231PS Y14, Y7, Y9  // tr·d + ti·c
	VMOVUPS Y8, (R12)(DX*1)
	VMOVUPS Y9, (R13)(DX*1)
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, R12
	ADDQ $32, R13
	DECQ R14
	JNZ  fs_inner
	ADDQ DX, R12            // skip the y1 block just written
	ADDQ DX, R13
	ADDQ $4, AX
	ADDQ $4, DI
	DECQ CX
	JNZ  fs_outer
	VZEROUPPER
	RET

// func fftStage4AVX2(yr, yi, xr, xi, w4 *float32, m, s int)
// One radix-4 Stockham stage; see fftStage4Go.
TEXT ·fftStage4AVX2(SB), NOSPLIT, $0-56
	MOVQ yr+0(FP), R12
	MOVQ yi+8(FP), R13
	MOVQ xr+16(FP), R10
	MOVQ xi+24(FP), R11
	MOVQ w4+32(FP), AX
	MOVQ m+40(FP), CX
	MOVQ s+48(FP), R15
	MOVQ R15, DX
	SHLQ $5, DX             // output block: 32·s bytes
	LEAQ (DX)(DX*2), R8     // 3 output blocks
	MOVQ DX, BX
	IMULQ CX, BX            // input quarter: 32·s·m bytes
	LEAQ (BX)(BX*2), R9     // 3 input quarters
f4_outer:
	VBROADCASTSS 0(AX), Y10
	VBROADCASTSS 4(AX), Y11
	VBROADCASTSS 8(AX), Y12
	VBROADCASTSS 12(AX), Y13
	VBROADCASTSS 16(AX), Y14
	VBROADCASTSS 20(AX), Y15
	MOVQ R15, R14
f4_inner:
	VMOVUPS (R10), Y0        // ar
	VMOVUPS (R10)(BX*2), Y4  // cr
	VADDPS Y4, Y0, Y8        // apc_r
	VSUBPS Y4, Y0, Y0        // amc_r
	VMOVUPS (R11), Y1        // ai
	VMOVUPS (R11)(BX*2), Y5  // ci
	VADDPS Y5, Y1, Y4        // apc_i
	VSUBPS Y5, Y1, Y1        // amc_i
	VMOVUPS (R10)(BX*1), Y2  // br
	VMOVUPS (R10)(R9*1), Y6  // dr
	VADDPS Y6, Y2, Y5        // bpd_r
	VSUBPS Y6, Y2, Y2        // bmd_r
	VMOVUPS (R11)(BX*1), Y3  // bi
	VMOVUPS (R11)(R9*1), Y7  // di
	VADDPS Y7, Y3, Y6        // bpd_i
	VSUBPS Y7, Y3, Y3        // bmd_i
	VADDPS Y5, Y8, Y7
	VMOVUPS Y7, (R12)        // y0 = apc + bpd
	VADDPS Y6, Y4, Y9
	VMOVUPS Y9, (R13)
	VSUBPS Y5, Y8, Y8        // t2 = apc - bpd
	VSUBPS Y6, Y4, Y4
	VMULPS Y12, Y8, Y5
	VFNMADD231PS Y13, Y4, Y5
	VMULPS Y13, Y8, Y6
	VFMADD231PS Y12, Y4, Y6
	VMOVUPS Y5, (R12)(DX*2)  // y2 = t2·w²
	VMOVUPS Y6, (R13)(DX*2)
	VADDPS Y3, Y0, Y7        // t1 = amc - i·bmd
	VSUBPS Y2, Y1, Y9
	VMULPS Y10, Y7, Y8
	VFNMADD231PS Y11, Y9, Y8
	VMULPS Y11, Y7, Y4
	VFMADD231PS Y10, Y9, Y4
	VMOVUPS Y8, (R12)(DX*1)  // y1 = t1·w¹
	VMOVUPS Y4, (R13)(DX*1)
	VSUBPS Y3, Y0, Y7        // t3 = amc + i·bmd
	VADDPS Y2, Y1, Y9
	VMULPS Y14, Y7, Y8
	VFNMADD231PS Y15, Y9, Y8
	VMULPS Y15, Y7, Y4
	VFMADD231PS Y14, Y9, Y4
	VMOVUPS Y8, (R12)(R8*1)  // y3 = t3·w³
	VMOVUPS Y4, (R13)(R8*1)
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, R12
	ADDQ $32, R13
	DECQ R14
	JNZ  f4_inner
	ADDQ R8, R12             // skip the y1..y3 blocks just written
	ADDQ R8, R13
	ADDQ $24, AX
	DECQ CX
	JNZ  f4_outer
	VZEROUPPER
	RET

// SPLITBIN computes one bin of realSpectrum: A = (ar, ai) at (R10), (R11),
// B at (R12), (R13); c, s broadcast in Y14, Y15; Y13 = 0.5. Result in Y0.
#define SPLITBIN \
	VMOVUPS (R10), Y0 \
	VMOVUPS (R11), Y1 \
	VMOVUPS (R12), Y2 \
	VMOVUPS (R13), Y3 \
	VADDPS Y2, Y0, Y4 \
	VMULPS Y13, Y4, Y4 \
	VSUBPS Y3, Y1, Y5 \
	VMULPS Y13, Y5, Y5 \
	VSUBPS Y2, Y0, Y6 \
	VMULPS Y13, Y6, Y6 \
	VADDPS Y3, Y1, Y7 \
	VMULPS Y13, Y7, Y7 \
	VFMADD231PS Y7, Y14, Y4 \
	VFMADD231PS Y6, Y15, Y4 \
	VFNMADD231PS Y6, Y14, Y5 \
	VFMADD231PS Y7, Y15, Y5 \
	VMULPS Y4, Y4, Y0 \
	VFMADD231PS Y5, Y5, Y0

// func realSpectrumAVX2(pow, zr, zi, cr, ci *float32, half int, power bool)
TEXT ·realSpectrumAVX2(SB), NOSPLIT, $0-49
	MOVQ pow+0(FP), DI
	MOVQ zr+8(FP), R8
	MOVQ zi+16(FP), R9
	MOVQ cr+24(FP), AX
	MOVQ ci+32(FP), BX
	MOVQ half+40(FP), CX
	MOVBLZX power+48(FP), DX
	VMOVUPS ·vecHalf(SB), Y13
	// k = 0: A = B = Z[0]
	MOVQ R8, R10
	MOVQ R9, R11
	MOVQ R8, R12
	MOVQ R9, R13
	VBROADCASTSS (AX), Y14
	VBROADCASTSS (BX), Y15
	SPLITBIN
	TESTQ DX, DX
	JNZ  rs_p0
	VSQRTPS Y0, Y0
rs_p0:
	VMOVUPS Y0, (DI)
	// k = 1 .. half-1: A = Z[k], B = Z[half-k]
	MOVQ CX, R14
	DECQ R14
	JZ   rs_last
	LEAQ 32(R8), R10
	LEAQ 32(R9), R11
	MOVQ R14, R15
	SHLQ $5, R15
	LEAQ (R8)(R15*1), R12
	LEAQ (R9)(R15*1), R13
rs_loop:
	ADDQ $4, AX
	ADDQ $4, BX
	ADDQ $32, DI
	VBROADCASTSS (AX), Y14
	VBROADCASTSS (BX), Y15
	SPLITBIN
	TESTQ DX, DX
	JNZ  rs_p1
	VSQRTPS Y0, Y0
rs_p1:
	VMOVUPS Y0, (DI)
	ADDQ $32, R10
	ADDQ $32, R11
	SUBQ $32, R12
	SUBQ $32, R13
	DECQ R14
	JNZ  rs_loop
rs_last:
	// k = half: A = B = Z[0]
	ADDQ $4, AX
	ADDQ $4, BX
	ADDQ $32, DI
	MOVQ R8, R10
	MOVQ R9, R11
	MOVQ R8, R12
	MOVQ R9, R13
	VBROADCASTSS (AX), Y14
	VBROADCASTSS (BX), Y15
	SPLITBIN
	TESTQ DX, DX
	JNZ  rs_p2
	VSQRTPS Y0, Y0
rs_p2:
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// func bandMatVecAVX2(y, x *float32, rows *int32, nrows int, w *float32)
// Two accumulators (even and odd taps) break the FMA latency chain.
TEXT ·bandMatVecAVX2(SB), NOSPLIT, $0-40
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ nrows+24(FP), CX
	MOVQ w+32(FP), R9
	TESTQ CX, CX
	JZ   bm_done
bm_row:
	MOVLQSX 0(R8), AX       // start
	MOVLQSX 4(R8), DX       // n
	MOVLQSX 8(R8), BX       // offset
	SHLQ $5, AX
	LEAQ (SI)(AX*1), R10    // x row of the first tap
	LEAQ (R9)(BX*4), R11    // first weight
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVQ DX, R12
	SHRQ $1, R12
	JZ   bm_tail
bm_pair:
	VBROADCASTSS (R11), Y2
	VBROADCASTSS 4(R11), Y3
	VFMADD231PS (R10), Y2, Y0
	VFMADD231PS 32(R10), Y3, Y1
	ADDQ $64, R10
	ADDQ $8, R11
	DECQ R12
	JNZ  bm_pair
bm_tail:
	TESTQ $1, DX
	JZ   bm_store
	VBROADCASTSS (R11), Y2
	VFMADD231PS (R10), Y2, Y0
bm_store:
	VADDPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $12, R8
	DECQ CX
	JNZ  bm_row
bm_done:
	VZEROUPPER
	RET

// func logFloorAVX2(x *float32, rows int, floor float32)
// x = ln(max(x, floor)) with the algorithm of logf (kernels.go).
TEXT ·logFloorAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ rows+8(FP), CX
	VBROADCASTSS floor+16(FP), Y15
	VMOVUPS ·logMantMask(SB), Y14
	VMOVUPS ·logHalfBits(SB), Y13
	VMOVUPS ·log126(SB), Y12
	VMOVUPS ·logSqrtHalf(SB), Y11
	VMOVUPS ·logOne(SB), Y10
	TESTQ CX, CX
	JZ   lg_done
lg_loop:
	VMOVUPS (SI), Y0
	VMAXPS Y15, Y0, Y0
	VPSRLD $23, Y0, Y1
	VPSUBD Y12, Y1, Y1          // e
	VPAND Y14, Y0, Y2
	VPOR Y13, Y2, Y2            // m in [0.5, 1)
	VCMPPS $1, Y11, Y2, Y3      // m < √½
	VPADDD Y3, Y1, Y1           // e - 1 there
	VANDPS Y3, Y2, Y4
	VADDPS Y4, Y2, Y2           // m + m there
	VSUBPS Y10, Y2, Y2          // f = m - 1
	VMULPS Y2, Y2, Y3           // z = f²
	VMOVUPS ·logP0(SB), Y4
	VFMADD213PS ·logP1(SB), Y2, Y4
	VFMADD213PS ·logP2(SB), Y2, Y4
	VFMADD213PS ·logP3(SB), Y2, Y4
	VFMADD213PS ·logP4(SB), Y2, Y4
	VFMADD213PS ·logP5(SB), Y2, Y4
	VFMADD213PS ·logP6(SB), Y2, Y4
	VFMADD213PS ·logP7(SB), Y2, Y4
	VFMADD213PS ·logP8(SB), Y2, Y4
	VMULPS Y2, Y4, Y4
	VMULPS Y3, Y4, Y4           // y = P(f)·f·z
	VCVTDQ2PS Y1, Y5            // e as float
	VFMADD231PS ·logLn2Lo(SB), Y5, Y4
	VFMADD231PS ·logNegHalf(SB), Y3, Y4
	VADDPS Y4, Y2, Y0           // f + y
	VFMADD231PS ·logLn2Hi(SB), Y5, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	DECQ CX
	JNZ  lg_loop
lg_done:
	VZEROUPPER
	RET

DATA ·logP0+0(SB)/4, $0x3d9021bb
DATA ·logP0+4(SB)/4, $0x3d9021bb
DATA ·logP0+8(SB)/4, $0x3d9021bb
DATA ·logP0+12(SB)/4, $0x3d9021bb
DATA ·logP0+16(SB)/4, $0x3d9021bb
DATA ·logP0+20(SB)/4, $0x3d9021bb
DATA ·logP0+24(SB)/4, $0x3d9021bb
DATA ·logP0+28(SB)/4, $0x3d9021bb
GLOBL ·logP0(SB), RODATA|NOPTR, $32

DATA ·logP1+0(SB)/4, $0xbdebd1b8
DATA ·logP1+4(SB)/4, $0xbdebd1b8
DATA ·logP1+8(SB)/4, $0xbdebd1b8
DATA ·logP1+12(SB)/4, $0xbdebd1b8
DATA ·logP1+16(SB)/4, $0xbdebd1b8
DATA ·logP1+20(SB)/4, $0xbdebd1b8
DATA ·logP1+24(SB)/4, $0xbdebd1b8
DATA ·logP1+28(SB)/4, $0xbdebd1b8
GLOBL ·logP1(SB), RODATA|NOPTR, $32

DATA ·logP2+0(SB)/4, $0x3def251a
DATA ·logP2+4(SB)/4, $0x3def251a
DATA ·logP2+8(SB)/4, $0x3def251a
DATA ·logP2+12(SB)/4, $0x3def251a
DATA ·logP2+16(SB)/4, $0x3def251a
DATA ·logP2+20(SB)/4, $0x3def251a
DATA ·logP2+24(SB)/4, $0x3def251a
DATA ·logP2+28(SB)/4, $0x3def251a
GLOBL ·logP2(SB), RODATA|NOPTR, $32

DATA ·logP3+0(SB)/4, $0xbdfe5d4f
DATA ·logP3+4(SB)/4, $0xbdfe5d4f
DATA ·logP3+8(SB)/4, $0xbdfe5d4f
DATA ·logP3+12(SB)/4, $0xbdfe5d4f
DATA ·logP3+16(SB)/4, $0xbdfe5d4f
DATA ·logP3+20(SB)/4, $0xbdfe5d4f
DATA ·logP3+24(SB)/4, $0xbdfe5d4f
DATA ·logP3+28(SB)/4, $0xbdfe5d4f
GLOBL ·logP3(SB), RODATA|NOPTR, $32

DATA ·logP4+0(SB)/4, $0x3e11e9bf
DATA ·logP4+4(SB)/4, $0x3e11e9bf
DATA ·logP4+8(SB)/4, $0x3e11e9bf
DATA ·logP4+12(SB)/4, $0x3e11e9bf
DATA ·logP4+16(SB)/4, $0x3e11e9bf
DATA ·logP4+20(SB)/4, $0x3e11e9bf
DATA ·logP4+24(SB)/4, $0x3e11e9bf
DATA ·logP4+28(SB)/4, $0x3e11e9bf
GLOBL ·logP4(SB), RODATA|NOPTR, $32

DATA ·logP5+0(SB)/4, $0xbe2aae50
DATA ·logP5+4(SB)/4, $0xbe2aae50
DATA ·logP5+8(SB)/4, $0xbe2aae50
DATA ·logP5+12(SB)/4, $0xbe2aae50
DATA ·logP5+16(SB)/4, $0xbe2aae50
DATA ·logP5+20(SB)/4, $0xbe2aae50
DATA ·logP5+24(SB)/4, $0xbe2aae50
DATA ·logP5+28(SB)/4, $0xbe2aae50
GLOBL ·logP5(SB), RODATA|NOPTR, $32

DATA ·logP6+0(SB)/4, $0x3e4cceac
DATA ·logP6+4(SB)/4, $0x3e4cceac
DATA ·logP6+8(SB)/4, $0x3e4cceac
DATA ·logP6+12(SB)/4, $0x3e4cceac
DATA ·logP6+16(SB)/4, $0x3e4cceac
DATA ·logP6+20(SB)/4, $0x3e4cceac
DATA ·logP6+24(SB)/4, $0x3e4cceac
DATA ·logP6+28(SB)/4, $0x3e4cceac
GLOBL ·logP6(SB), RODATA|NOPTR, $32

DATA ·logP7+0(SB)/4, $0xbe7ffffc
DATA ·logP7+4(SB)/4, $0xbe7ffffc
DATA ·logP7+8(SB)/4, $0xbe7ffffc
DATA ·logP7+12(SB)/4, $0xbe7ffffc
DATA ·logP7+16(SB)/4, $0xbe7ffffc
DATA ·logP7+20(SB)/4, $0xbe7ffffc
DATA ·logP7+24(SB)/4, $0xbe7ffffc
DATA ·logP7+28(SB)/4, $0xbe7ffffc
GLOBL ·logP7(SB), RODATA|NOPTR, $32

DATA ·logP8+0(SB)/4, $0x3eaaaaaa
DATA ·logP8+4(SB)/4, $0x3eaaaaaa
DATA ·logP8+8(SB)/4, $0x3eaaaaaa
DATA ·logP8+12(SB)/4, $0x3eaaaaaa
DATA ·logP8+16(SB)/4, $0x3eaaaaaa
DATA ·logP8+20(SB)/4, $0x3eaaaaaa
DATA ·logP8+24(SB)/4, $0x3eaaaaaa
DATA ·logP8+28(SB)/4, $0x3eaaaaaa
GLOBL ·logP8(SB), RODATA|NOPTR, $32

DATA ·logLn2Hi+0(SB)/4, $0x3f318000
DATA ·logLn2Hi+4(SB)/4, $0x3f318000
DATA ·logLn2Hi+8(SB)/4, $0x3f318000
DATA ·logLn2Hi+12(SB)/4, $0x3f318000
DATA ·logLn2Hi+16(SB)/4, $0x3f318000
DATA ·logLn2Hi+20(SB)/4, $0x3f318000
DATA ·logLn2Hi+24(SB)/4, $0x3f318000
DATA ·logLn2Hi+28(SB)/4, $0x3f318000
GLOBL ·logLn2Hi(SB), RODATA|NOPTR, $32

DATA ·logLn2Lo+0(SB)/4, $0xb95e8083
DATA ·logLn2Lo+4(SB)/4, $0xb95e8083
DATA ·logLn2Lo+8(SB)/4, $0xb95e8083
DATA ·logLn2Lo+12(SB)/4, $0xb95e8083
DATA ·logLn2Lo+16(SB)/4, $0xb95e8083
DATA ·logLn2Lo+20(SB)/4, $0xb95e8083
DATA ·logLn2Lo+24(SB)/4, $0xb95e8083
DATA ·logLn2Lo+28(SB)/4, $0xb95e8083
GLOBL ·logLn2Lo(SB), RODATA|NOPTR, $32

DATA ·logNegHalf+0(SB)/4, $0xbf000000
DATA ·logNegHalf+4(SB)/4, $0xbf000000
DATA ·logNegHalf+8(SB)/4, $0xbf000000
DATA ·logNegHalf+12(SB)/4, $0xbf000000
DATA ·logNegHalf+16(SB)/4, $0xbf000000
DATA ·logNegHalf+20(SB)/4, $0xbf000000
DATA ·logNegHalf+24(SB)/4, $0xbf000000
DATA ·logNegHalf+28(SB)/4, $0xbf000000
GLOBL ·logNegHalf(SB), RODATA|NOPTR, $32

DATA ·logOne+0(SB)/4, $0x3f800000
DATA ·logOne+4(SB)/4, $0x3f800000
DATA ·logOne+8(SB)/4, $0x3f800000
DATA ·logOne+12(SB)/4, $0x3f800000
DATA ·logOne+16(SB)/4, $0x3f800000
DATA ·logOne+20(SB)/4, $0x3f800000
DATA ·logOne+24(SB)/4, $0x3f800000
DATA ·logOne+28(SB)/4, $0x3f800000
GLOBL ·logOne(SB), RODATA|NOPTR, $32

DATA ·logSqrtHalf+0(SB)/4, $0x3f3504f3
DATA ·logSqrtHalf+4(SB)/4, $0x3f3504f3
DATA ·logSqrtHalf+8(SB)/4, $0x3f3504f3
DATA ·logSqrtHalf+12(SB)/4, $0x3f3504f3
DATA ·logSqrtHalf+16(SB)/4, $0x3f3504f3
DATA ·logSqrtHalf+20(SB)/4, $0x3f3504f3
DATA ·logSqrtHalf+24(SB)/4, $0x3f3504f3
DATA ·logSqrtHalf+28(SB)/4, $0x3f3504f3
GLOBL ·logSqrtHalf(SB), RODATA|NOPTR, $32

DATA ·logMantMask+0(SB)/4, $0x007fffff
DATA ·logMantMask+4(SB)/4, $0x007fffff
DATA ·logMantMask+8(SB)/4, $0x007fffff
DATA ·logMantMask+12(SB)/4, $0x007fffff
DATA ·logMantMask+16(SB)/4, $0x007fffff
DATA ·logMantMask+20(SB)/4, $0x007fffff
DATA ·logMantMask+24(SB)/4, $0x007fffff
DATA ·logMantMask+28(SB)/4, $0x007fffff
GLOBL ·logMantMask(SB), RODATA|NOPTR, $32

DATA ·logHalfBits+0(SB)/4, $0x3f000000
DATA ·logHalfBits+4(SB)/4, $0x3f000000
DATA ·logHalfBits+8(SB)/4, $0x3f000000
DATA ·logHalfBits+12(SB)/4, $0x3f000000
DATA ·logHalfBits+16(SB)/4, $0x3f000000
DATA ·logHalfBits+20(SB)/4, $0x3f000000
DATA ·logHalfBits+24(SB)/4, $0x3f000000
DATA ·logHalfBits+28(SB)/4, $0x3f000000
GLOBL ·logHalfBits(SB), RODATA|NOPTR, $32

DATA ·log126+0(SB)/4, $0x0000007e
DATA ·log126+4(SB)/4, $0x0000007e
DATA ·log126+8(SB)/4, $0x0000007e
DATA ·log126+12(SB)/4, $0x0000007e
DATA ·log126+16(SB)/4, $0x0000007e
DATA ·log126+20(SB)/4, $0x0000007e
DATA ·log126+24(SB)/4, $0x0000007e
DATA ·log126+28(SB)/4, $0x0000007e
GLOBL ·log126(SB), RODATA|NOPTR, $32

DATA ·vecHalf+0(SB)/4, $0x3f000000
DATA ·vecHalf+4(SB)/4, $0x3f000000
DATA ·vecHalf+8(SB)/4, $0x3f000000
DATA ·vecHalf+12(SB)/4, $0x3f000000
DATA ·vecHalf+16(SB)/4, $0x3f000000
DATA ·vecHalf+20(SB)/4, $0x3f000000
DATA ·vecHalf+24(SB)/4, $0x3f000000
DATA ·vecHalf+28(SB)/4, $0x3f000000
GLOBL ·vecHalf(SB), RODATA|NOPTR, $32
