//go:build !portaudio

package capture

import "fmt"

// HavePortAudio reports whether this binary was built with the portaudio
// tag, and so can open microphones.
const HavePortAudio = false

func portaudioDevice(_ string, p *params, _ *Options) (*Device, error) {
	return nil, fmt.Errorf("%q: %w", p.spec, ErrNoPortAudio)
}

// ListDevices returns the capture devices PortAudio knows. Without the
// portaudio build tag it returns ErrNoPortAudio.
func ListDevices() ([]DeviceInfo, error) { return nil, ErrNoPortAudio }
