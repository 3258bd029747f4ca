// Package capture reads audio for voxward and owns the consent gate that
// keeps the microphone closed while no consent lease is held.
//
// Sources are named by spec strings (ParseSource): "portaudio[:DEVICE]"
// (the microphone, with the portaudio build tag), "wav:PATH[?loop=1]" (a
// WAV file played at real-time pace, or as fast as possible with
// ?fast=1), "pcm:-" (signed 16-bit little-endian on stdin) and "tone" (a
// generated sine). Every source delivers 16 kHz mono float32 samples on the
// 16-bit integer scale, resampled with dsp.Resampler from the device's or
// file's own rate.
//
// ParseSource returns an unopened Device; only a Gate opens it, when the
// first consent lease is acquired, and closes it when the last lease is
// released or expires. So no code gets audio without a lease:
//
//	dev, _ := capture.ParseSource("portaudio", nil)
//	gate := capture.NewGate(dev, nil)
//	go gate.Run(ctx)                 // closes the device when leases expire
//	lease, _ := gate.Acquire(ctx, "session 42", time.Minute)
//	n, err := gate.Read(ctx, buf)    // ErrNoConsent once the lease is gone
//	lease.Release()                  // the microphone closes here
//
// Between a device callback and the reader sits a bounded Ring that drops
// the oldest audio when the reader stalls and counts what it dropped;
// ErrOverflow tells the reader that audio was lost. A Meter measures RMS
// and peak levels and counts clipped samples for the technician's page,
// and counts NaN and ±Inf samples, which the Gate hands out as silence.
package capture
