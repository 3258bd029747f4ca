package capture_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/voxward/voxward/capture"
)

// The microphone (here a generated tone) is opened by the Gate only while
// a consent lease is held.
func ExampleGate() {
	dev, err := capture.ParseSource("tone?freq=440&fast=1", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	gate := capture.NewGate(dev, nil)
	defer gate.Close()
	ctx := context.Background()
	buf := make([]float32, 1600) // 100 ms at 16 kHz

	_, err = gate.Read(ctx, buf)
	fmt.Println("before consent:", errors.Is(err, capture.ErrNoConsent), gate.Status().Open)

	lease, err := gate.Acquire(ctx, "session 1", 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	n, err := gate.Read(ctx, buf)
	fmt.Println("with a lease:", n, err, gate.Status().Open)

	lease.Release()
	_, err = gate.Read(ctx, buf)
	fmt.Println("after release:", errors.Is(err, capture.ErrNoConsent), gate.Status().Open)
	// Output:
	// before consent: true false
	// with a lease: 1600 <nil> true
	// after release: true false
}
