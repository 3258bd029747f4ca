package capture

// DeviceInfo describes a capture device as ListDevices reports it.
type DeviceInfo struct {
	// Index is the PortAudio device index; "portaudio:INDEX" selects it.
	Index int `json:"index"`
	// Name is the device's name; "portaudio:NAME" selects it (an exact
	// match first, else the only device whose name contains NAME).
	Name string `json:"name"`
	// HostAPI is PortAudio's host API (ALSA, JACK, ...).
	HostAPI string `json:"host_api"`
	// Channels is the most input channels the device offers.
	Channels int `json:"channels"`
	// DefaultRate is the device's default sample rate in Hz.
	DefaultRate float64 `json:"default_rate"`
	// Default marks the host's default input device.
	Default bool `json:"default"`
}
