// Package cpufeat says which x86 vector extensions the CPU has and the
// operating system supports (it saves their register state), for the
// assembly kernels of dsp and dsp/voiceprint. It reads CPUID and XGETBV
// itself, so that those packages keep to the standard library.
package cpufeat
