package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/voxward/voxward/capture"
)

func init() {
	register(&command{name: "devices", summary: "list the capture devices (microphones) PortAudio sees", run: runDevices})
}

const devicesHelp = `
Lists the capture devices PortAudio sees, one a line: index, name, host API,
input channels, default sample rate, and a * for the default input. Use the
index or the name in --source portaudio:DEVICE. --json prints a JSON array
of {"index","name","host_api","channels","default_rate","default"}.

Needs a build with PortAudio (make build-portaudio); without it, it says so
and exits with status 1.
`

func runDevices(_ context.Context, sio *stdio, args []string) error {
	fs := newFlags(sio, "devices", "devices [--json]", devicesHelp)
	asJSON := fs.Bool("json", false, "print a JSON array")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	devs, err := capture.ListDevices()
	if errors.Is(err, capture.ErrNoPortAudio) {
		return errNoPortAudio
	}
	if err != nil {
		return err
	}
	if *asJSON {
		if devs == nil {
			devs = []capture.DeviceInfo{}
		}
		return json.NewEncoder(sio.out).Encode(devs)
	}
	if len(devs) == 0 {
		fmt.Fprintln(sio.err, "voxward devices: PortAudio sees no capture device")
		return nil
	}
	tw := tabwriter.NewWriter(sio.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tNAME\tHOST API\tCHANNELS\tRATE\tDEFAULT")
	for _, d := range devs {
		def := ""
		if d.Default {
			def = "*"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%.0f\t%s\n", d.Index, d.Name, d.HostAPI, d.Channels, d.DefaultRate, def)
	}
	return tw.Flush()
}

// errNoPortAudio is what devices and record say when asked for a
// microphone by a build without PortAudio. It is not a usage error (exit
// status 1, not 2): the command line is right, the build is not.
var errNoPortAudio error = noPortAudioError{}

type noPortAudioError struct{}

func (noPortAudioError) Error() string {
	return "this voxward was built without PortAudio, so it cannot list or open microphones; " +
		"build it with \"make build-portaudio\" (needs portaudio19-dev), or record from --source wav:PATH, pcm:- or tone"
}

// Unwrap makes errors.Is(err, capture.ErrNoPortAudio) hold.
func (noPortAudioError) Unwrap() error { return capture.ErrNoPortAudio }
