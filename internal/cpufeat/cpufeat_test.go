package cpufeat

import (
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// On Linux the kernel lists the CPU features it supports in
// /proc/cpuinfo; the CPUID check must agree with it.
func TestAgreesWithProcCPUInfo(t *testing.T) {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Skipf("no /proc/cpuinfo to compare with: %v", err)
	}
	var flags []string
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "flags" {
			flags = strings.Fields(v)
			break
		}
	}
	if len(flags) == 0 {
		t.Skip("/proc/cpuinfo lists no flags (not x86)")
	}
	if runtime.GOARCH != "amd64" || isPurego {
		if AVX2 || FMA {
			t.Fatalf("AVX2 %v, FMA %v off amd64 or under purego", AVX2, FMA)
		}
		return
	}
	avx2 := slices.Contains(flags, "avx2")
	if AVX2 != avx2 {
		t.Errorf("AVX2 = %v, /proc/cpuinfo says %v", AVX2, avx2)
	}
	if want := avx2 && slices.Contains(flags, "fma"); FMA != want {
		t.Errorf("FMA = %v, /proc/cpuinfo says %v", FMA, want)
	}
}
