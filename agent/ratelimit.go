package agent

import (
	"net"
	"sync"
	"time"
)

// maxLimited caps how many remote addresses a rateLimiter tracks; past it,
// idle ones are forgotten, and a new address is refused while every
// tracked one is still busy.
const maxLimited = 1024

// rateLimiter is a token bucket per remote address: burst requests at
// once, then one more every `every`.
type rateLimiter struct {
	now   func() time.Time
	burst float64
	every time.Duration

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was counted
}

func newRateLimiter(now func() time.Time, burst int, every time.Duration) *rateLimiter {
	return &rateLimiter{now: now, burst: float64(burst), every: every, buckets: map[string]*bucket{}}
}

// refillLocked brings b's tokens up to now.
func (l *rateLimiter) refillLocked(b *bucket, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(l.burst, b.tokens+float64(d)/float64(l.every))
	}
	b.at = now
}

// allow takes a token from key's bucket. When there is none it returns
// false and how long until there is.
func (l *rateLimiter) allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxLimited {
			for k, old := range l.buckets {
				if l.refillLocked(old, now); old.tokens >= l.burst {
					delete(l.buckets, k)
				}
			}
		}
		if len(l.buckets) >= maxLimited {
			return false, l.every
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	l.refillLocked(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(l.every))
}

// remoteHost is the address part of a request's RemoteAddr: the key a
// client is limited by (its port changes with every connection).
func remoteHost(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}
