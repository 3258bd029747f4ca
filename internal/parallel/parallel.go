// Package parallel runs the offline tools' loops (training, evaluation)
// on a fixed number of goroutines. Production code paths in the daemon do
// not use it.
package parallel

import (
	"context"
	"sync"
)

// For runs fn(worker, i) for every i in [0, n) on jobs goroutines; worker
// (0 ≤ worker < jobs) lets fn use per-goroutine scratch. It stops handing
// out indices when ctx is done and returns the first error fn returned,
// else ctx's error, else nil.
func For(ctx context.Context, n, jobs int, fn func(worker, i int) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan int)
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(w, i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}
