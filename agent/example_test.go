package agent_test

import (
	"fmt"
	"time"

	"github.com/voxward/voxward/agent"
)

// A configuration file names only what differs from the defaults; flags
// override it, and Validate checks the result once.
func ExampleParseConfig() {
	cfg, err := agent.ParseConfig([]byte(`
state_dir = "/var/lib/voxward"
source = "wav:/srv/room.wav?loop=1"
session_max = "4h"
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg.Listen = "127.0.0.1:7481" // as --listen would
	fmt.Println(cfg.Validate(), cfg.Listen, cfg.Source, time.Duration(cfg.SessionMax), cfg.MetricsRole)

	_, err = agent.ParseConfig([]byte(`listen_addr = "127.0.0.1:1"`))
	fmt.Println(err)
	// Output:
	// <nil> 127.0.0.1:7481 wav:/srv/room.wav?loop=1 4h0m0s technician
	// agent: invalid configuration: unknown key(s) listen_addr
}
