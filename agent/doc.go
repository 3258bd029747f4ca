// Package agent is the voxward daemon: configuration, lifecycle, the local
// HTTP API, consent flow, enrolment, live sessions and retention. It wires
// capture, dsp, vault and sync together; policy lives here, mechanism below.
//
// # What runs
//
// New checks a Config (defaults in DefaultConfig, an optional TOML file
// through LoadConfigFile, unknown keys refused) and builds the parts
// without touching disk or network. Run opens the vault in the state
// directory (ErrNotInitialised without one, vault.ErrLocked when another
// process holds it), loads the device's Ed25519 key, binds the loopback
// listener, makes the start-up retention run and closes Ready; then,
// under one errgroup, it runs
//
//   - the consent gate (capture.Gate) over the configured source: closed
//     until a session takes a consent lease, closed again within
//     capture.MaxCloseDelay of the last lease ending (at once on stop);
//   - the live pipeline: reads 100 ms blocks through the gate while it is
//     open (the gate's level meter sees them) and computes 80-bin fbank
//     features with dsp. Until voiceprints arrive the features are dropped
//     at once: no audio and nothing derived from it is stored, and unknown
//     voices are never kept (PRIVACY.md rules 1, 5, 12);
//   - the retention job, every Config.RetentionInterval (at most an hour)
//     on the injected clock: vault.Store.ApplyRetention with
//     Config.RetentionPolicy, a key rotation when Config.KeyRotationInterval
//     has passed or an erasure's rotation failed, and an online compaction
//     when erasures left freed pages. A run more than RetentionSlack behind
//     the schedule is a missed deadline: an error in GET /v1/status, in
//     /metrics, in the log and in the audit chain (PRIVACY.md rules 9, 11);
//   - the HTTP server, stopped with Shutdown when the context ends.
//
// On the way out, live sessions are stopped and recorded, the gate closes
// the source and the vault is closed.
//
// # Local API
//
// GET /v1/health needs no token; everything else needs a bearer token from
// the vault (stored as a hash) with the route's role, admin passing
// everywhere. Requests whose Host is not localhost, a loopback address or a
// configured name are refused (421, DNS rebinding); browser requests from
// another Origin are refused (403, CSRF); bodies are capped
// (Config.MaxBodyBytes) and must be application/json. Errors are
// {"error":{"code","message"}}. Routes: GET /v1/status, GET /metrics
// (Prometheus), POST /v1/sessions, POST /v1/sessions/{id}/stop.
//
// # State directory
//
// Besides the vault's files (see package vault) it holds DeviceKeyFile,
// the device's Ed25519 signing key (PKCS#8 PEM, mode 0600), made by
// CreateDeviceKey at "voxward init". Its public key gives the device its
// pseudonymous id (DeviceID).
package agent
