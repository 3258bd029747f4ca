package sync_test

import (
	"crypto/sha256"
	"strconv"
	"testing"

	simd "github.com/minio/sha256-simd"
)

// BenchmarkSHA256 measures the two SHA-256 implementations on batch-sized
// bodies; sync.Digest uses the faster on the box's CPU (see Digest).
func BenchmarkSHA256(b *testing.B) {
	for _, size := range []int{4 << 10, 256 << 10, 4 << 20} {
		buf := make([]byte, size)
		for i := range buf {
			buf[i] = byte(i * 7)
		}
		name := strconv.Itoa(size>>10) + "KiB"
		b.Run("impl=crypto-sha256/size="+name, func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				_ = sha256.Sum256(buf)
			}
		})
		b.Run("impl=sha256-simd/size="+name, func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				_ = simd.Sum256(buf)
			}
		})
	}
}
