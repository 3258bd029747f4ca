// Package packaging holds what installs voxward as a systemd service on a
// venue box, and the tests that hold those files to account. It has no
// code.
//
//	voxward.service      the hardened unit (Type=notify, watchdog, sandbox)
//	voxward.sysusers     the voxward system user (sysusers.d)
//	voxward.toml         /etc/voxward/voxward.toml as installed
//	dropin/*.conf        optional drop-ins: an encrypted master key, a
//	                     puller on the venue network
//
// "make install" copies them into place; docs/systemd.md is the guide.
// The tests run "systemd-analyze verify" on the unit with and without each
// drop-in (any warning fails), hold "systemd-analyze security --offline"
// to an exposure of at most 2.0, check the unit's command line against the
// binary, and dry-run the sysusers.d file.
package packaging
