// Package agent is the voxward daemon: configuration, lifecycle, the local
// HTTP API, consent flow, enrolment, live sessions and retention. It wires
// capture, dsp, vault and sync together; policy lives here, mechanism below.
package agent
