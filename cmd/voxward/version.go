package main

import (
	"fmt"
	"runtime/debug"

	"github.com/voxward/voxward/dsp/voiceprint"
)

// versionLine describes this binary: the module version (or "devel"), the
// VCS revision and time it was built from (with "+dirty" for uncommitted
// changes), the Go release, whether the microphone (PortAudio) is built in,
// and the id of the shipped voiceprint model.
func versionLine() string {
	version, rev, when, dirty := "devel", "unknown", "", ""
	gover := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		gover = bi.GoVersion
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value[:min(len(s.Value), 12)]
			case "vcs.time":
				when = " " + s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
	}
	model := "none (make voiceprint-model)"
	if m, err := voiceprint.DefaultModel(); err == nil {
		model = m.Config.ID
	}
	return fmt.Sprintf("voxward %s (revision %s%s%s; %s; microphone %s; voiceprint model %s)",
		version, rev, dirty, when, gover, micSupport(), model)
}
