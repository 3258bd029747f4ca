# voxward — the targets CI calls, and the long runs it does not.
# "make help" lists them.

GO          ?= go
BIN         ?= bin
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 60s
SHARED      ?= $(abspath ../shared)

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-24s %s\n", $$1, $$2}'

MODEL       := dsp/voiceprint/model/voiceprint.bin

.PHONY: model
model: ## the voiceprint model, made from $(SHARED)/data when missing (once, about 20 minutes on 2 cores); builds embed it
	@if [ -f $(MODEL) ]; then :; \
	elif [ -d "$(SHARED)/data/librispeech/train-clean-100" ]; then \
	  echo "making $(MODEL) from $(SHARED)/data (once; about 20 minutes on 2 cores)"; mkdir -p $(BIN); \
	  $(GO) run ./cmd/voxward train --data $(SHARED)/data --out $(BIN)/voiceprint.bin.tmp 2>$(BIN)/voiceprint-train.log \
	    && mv $(BIN)/voiceprint.bin.tmp $(MODEL) || { tail -20 $(BIN)/voiceprint-train.log; exit 1; }; \
	else echo "note: no voiceprint model, and no shared data at $(SHARED)/data to make it from: this build has no voiceprints (README, Set-up)"; fi

.PHONY: test
test: model ## vet and the default tests (what the README and CI run); uses ../shared/data when present
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -tags purego ./dsp/

.PHONY: race
race: model ## the default tests under the race detector
	$(GO) test -race -count=1 ./...

.PHONY: lint
lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags purego ./...
	$(GO) run $(STATICCHECK) ./...

.PHONY: bench
bench: ## every benchmark, 5 runs each (pipe to benchstat to compare)
	$(GO) test -run='^$$' -bench=. -benchmem -count=5 ./...

.PHONY: bench-smoke
bench-smoke: ## every benchmark once, so they keep compiling and running (CI)
	$(GO) test -run='^$$' -bench=. -benchtime=1x ./...

.PHONY: fuzz-seeds
fuzz-seeds: ## run fuzz targets on their seed corpora only (part of test; here for clarity)
	$(GO) test -count=1 -run='^Fuzz' ./...

.PHONY: fuzz
fuzz: ## each fuzz target for FUZZTIME (default 60s)
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

.PHONY: build
build: model ## the binary without cgo (no microphone): bin/voxward
	CGO_ENABLED=0 $(GO) build -o $(BIN)/voxward ./cmd/voxward

.PHONY: deps-portaudio
deps-portaudio: ## install PortAudio's headers and ALSA plugins (Debian; needs root)
	@if ! pkg-config --exists portaudio-2.0 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq portaudio19-dev libasound2-plugins pkg-config; \
	  else echo "PortAudio headers missing: run 'sudo apt-get install -y portaudio19-dev libasound2-plugins pkg-config'"; exit 1; fi; \
	fi

.PHONY: build-portaudio
build-portaudio: deps-portaudio model ## the binary with the microphone (cgo + PortAudio): bin/voxward
	$(GO) build -tags portaudio -o $(BIN)/voxward ./cmd/voxward

.PHONY: test-portaudio
test-portaudio: deps-portaudio ## tests that drive real PortAudio through ALSA plugins
	$(GO) test -count=1 -tags portaudio ./capture/... ./cmd/...

.PHONY: demo
demo: build ## see the main job: consent, enrolment, a session whose live labels name the speakers (null for a stranger), withdrawal closing the gate
	@./scripts/demo.sh $(BIN)/voxward

# Where "make install" puts things; DESTDIR stages them for a package.
DESTDIR     ?=
PREFIX      ?= /usr
SYSCONFDIR  ?= /etc
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d

.PHONY: install
install: ## install bin/voxward (make build-portaudio first), the systemd unit, its sysusers.d user and voxward.toml (DESTDIR, PREFIX, SYSCONFDIR); docs/systemd.md
	@test -x $(BIN)/voxward || { echo "install: $(BIN)/voxward not found: run make build-portaudio (a box needs the microphone) first"; exit 1; }
	install -D -m 0755 $(BIN)/voxward $(DESTDIR)$(PREFIX)/bin/voxward
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed -e 's#/usr/bin/voxward#$(PREFIX)/bin/voxward#' -e 's#/etc/voxward/#$(SYSCONFDIR)/voxward/#g' \
	  packaging/voxward.service > $(DESTDIR)$(UNITDIR)/voxward.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/voxward.service
	install -D -m 0644 packaging/voxward.sysusers $(DESTDIR)$(SYSUSERSDIR)/voxward.conf
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/voxward
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/voxward/voxward.toml ]; then \
	  echo "kept $(DESTDIR)$(SYSCONFDIR)/voxward/voxward.toml (the shipped one is packaging/voxward.toml)"; \
	else install -m 0644 packaging/voxward.toml $(DESTDIR)$(SYSCONFDIR)/voxward/voxward.toml; fi
	@echo "next (as root): systemd-sysusers; systemctl daemon-reload; then the key and 'voxward init' as docs/systemd.md shows"

.PHONY: clean
clean: ## remove build output
	rm -rf $(BIN)

.PHONY: voiceprint-model voiceprint-eval bench-voiceprint

voiceprint-model: ## (re)make the voiceprint model from $(SHARED)/data, which builds embed (about 20 minutes on 2 cores; not committed)
	$(GO) run ./cmd/voxward train --data $(SHARED)/data --out $(MODEL)

voiceprint-eval: ## EER/minDCF of the shipped model on the dev lists, clean and through each --augment channel (narrowband also on both sides)
	@for list in dev_testother_1v1 dev_testother_3v1; do for aug in none telephone noise20 noise10 narrowband 'narrowband --augment-enrol'; do \
	  printf '%s %-9s ' $$list "$$aug"; \
	  $(GO) run ./cmd/voxward eval --quiet --trials $(SHARED)/data/trials/$$list.txt --audio-root $(SHARED)/data --augment $$aug || exit 1; \
	done; done

bench-voiceprint: ## samples → voiceprint real-time factor and memory per extractor (one core)
	$(GO) test -run='^$$' -bench='Voiceprint' -benchmem -count=5 -cpu=1 ./dsp/voiceprint

PAIRS       ?= 3

.PHONY: bench-peer
bench-peer: build ## voxward bench against torchaudio.compliance.kaldi: PAIRS (default 3) interleaved pairs, one core (needs python3-torchaudio libopenblas0-serial)
	@PAIRS='$(PAIRS)' VOXWARD_SHARED="$${VOXWARD_SHARED:-$(SHARED)}" ./scripts/bench-peer.sh $(BIN)/voxward 600

CRASH_ITER  ?= 200

.PHONY: crash
crash: ## the vault's kill -9 test: CRASH_ITER (default 200) writer kills, reopen, verify, every acknowledged write there
	VOXWARD_CRASH_ITER=$(CRASH_ITER) $(GO) test -count=1 -run='^TestCrashKill9$$' -v ./vault/

PULL_CRASH_ITER ?= 150

.PHONY: crash-pull
crash-pull: ## the puller's fault test: PULL_CRASH_ITER (default 150) iterations per sink (JetStream, directory), two pullers on 10 boxes, kill -9 of a puller or nats-server and box deaths at fetch/store/ack; every batch stored once
	@out=$$(VOXWARD_CRASH_ITER=$(PULL_CRASH_ITER) $(GO) test -count=1 -timeout=60m -run='^TestCrashPull$$' -v ./sync/ 2>&1); st=$$?; \
	  echo "$$out" | grep -E '^(---|    ---|ok|FAIL|PASS)|iterations,|Error|Messages|panic'; exit $$st

# make crash runs the puller's fault test too (the vault's recipe is unchanged).
crash: crash-pull

.PHONY: bench-pull
bench-pull: ## puller throughput from 10 simulated boxes on loopback into the directory sink and JetStream, 5 runs (pipe to benchstat)
	$(GO) test -run='^$$' -bench='^BenchmarkPull10Boxes$$' -benchmem -count=5 ./sync/

.PHONY: bench-vault
bench-vault: ## the vault's write benchmarks: sealed vs plaintext, batched vs unbatched, 5 runs
	$(GO) test -run='^$$' -bench=. -benchmem -count=5 ./vault/

.PHONY: fuzz-vault
fuzz-vault: ## the vault's record decoders for FUZZTIME each
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeRecord$$' -fuzztime=$(FUZZTIME) ./vault/
	$(GO) test -run='^$$' -fuzz='^FuzzOpenValue$$' -fuzztime=$(FUZZTIME) ./vault/

.PHONY: race-portaudio bench-resample

race-portaudio: deps-portaudio ## the PortAudio tests under the race detector (checkptr off: the binding's callback handle trips it)
	$(GO) test -race -gcflags=all=-d=checkptr=0 -count=1 -tags portaudio ./capture/... ./cmd/...

bench-resample: ## resampler real-time factors, AVX2 assembly and (purego) Go kernels, 5 runs each
	$(GO) test -run='^$$' -bench=Resample -benchmem -count=5 ./dsp/
	$(GO) test -tags purego -run='^$$' -bench=Resample -benchmem -count=5 ./dsp/

.PHONY: fuzz-agent
fuzz-agent: ## the agent's decoders (config file, every JSON request body) for FUZZTIME each
	@for f in $$($(GO) test -list '^Fuzz' ./agent/ | grep '^Fuzz'); do \
	  echo "== $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) ./agent/ || exit 1; \
	done

PEERS_LISTS ?= $(wildcard $(SHARED)/data/trials/dev_*.txt)
PEERS_UBM   ?= $(BIN)/peer-gmm-ubm256.bin

.PHONY: voiceprint-peers

voiceprint-peers: build ## the model against the classical peers on every dev list (PEERS_LISTS) and channel, then again with half the speakers as a venue cohort; the model's FAR/FRR at its threshold (about 8 min on 2 cores)
	@./scripts/voiceprint-peers.sh $(BIN)/voxward $(SHARED)/data $(PEERS_UBM) $(PEERS_LISTS)
	@echo "dev figures against VOICEPRINT.md (TestEvalPeer*Dev):"
	@out=$$(VOXWARD_SHARED=$(SHARED) VOXWARD_PEER_UBM=$(abspath $(PEERS_UBM)) \
	  $(GO) test -count=1 -run='^TestEvalPeer(GMMUBM|MFCCStats)Dev$$' -v ./cmd/voxward/ 2>&1); st=$$?; \
	  echo "$$out" | grep -E '^(---|ok|FAIL)|EER|Error'; exit $$st

LOAD_ROUNDS ?= 2

.PHONY: load
load: ## real-time load test: 8 clients on the API while a session labels LOAD_ROUNDS × 25 s of speech; latencies and heap (CI)
	@out=$$(VOXWARD_LOAD_ROUNDS=$(LOAD_ROUNDS) $(GO) test -count=1 -run='^TestLoadWhileLabelling$$' -v ./agent/ 2>&1); st=$$?; \
	  echo "$$out" | grep -E '^(=== RUN|--- |ok|FAIL|PASS)|load_test|Error|Messages'; exit $$st
