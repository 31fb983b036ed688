# netlab: two commands do everything on a fresh machine with only the Rust toolchain.
#   make demo   runs every lab end to end on loopback and shows the conversation
#   make test   runs the whole test suite (format, lints, unit, property and integration tests)

CARGO ?= cargo
SHELL := bash

.PHONY: all build demo test test-ncat lint fmt bench-echo bench-game bench-ftp compare compare-quick mininet clean

all: build

build:
	$(CARGO) build --workspace --release
	@echo "built into target/release/; to type the programs by name in this terminal: . scripts/env"

demo: build
	bash scripts/demo

# --no-fail-fast: every test binary runs even when an earlier one fails, so one failure does not
# hide the others. The log is summed into one closing line: "total: N passed, N failed,
# N skipped", where skipped counts ignored tests and interop tests that printed SKIPPED (a tool
# such as nc was missing).
test: lint
	@mkdir -p target
	@set -o pipefail; status=0; \
	$(CARGO) test --workspace --doc --no-fail-fast 2>&1 | tee target/test.log || status=1; \
	$(CARGO) test --workspace --all-targets --no-fail-fast 2>&1 | tee -a target/test.log || status=1; \
	awk '/^test result:/ {p += $$4; f += $$6; i += $$8} /^SKIPPED / {s++} \
	  END {printf "total: %d passed, %d failed, %d skipped\n", p, f, i + s}' target/test.log; \
	exit $$status

# The tests that type `nc` (the walkthrough replays, the netcat interop tests) again,
# with Nmap's Ncat as `nc`: Fedora's and RHEL's netcat, which has no -N and half-closes by
# itself. `make test` runs them with whatever `nc` is installed (OpenBSD's on Debian).
test-ncat:
	@if ! command -v ncat >/dev/null; then echo "SKIPPED test-ncat: ncat is not installed"; exit 0; fi; \
	dir=$$(mktemp -d); ln -s "$$(command -v ncat)" "$$dir/nc"; \
	echo "nc is now: $$(PATH=$$dir:$$PATH nc --version 2>&1 | head -1)"; \
	PATH="$$dir:$$PATH" $(CARGO) test --workspace --all-targets --no-fail-fast -- docs netcat nc_; \
	status=$$?; rm -rf "$$dir"; exit $$status

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --quiet

fmt:
	$(CARGO) fmt --all

# Side-by-side echo benchmark: netlab (threads, mio) vs tokio vs a Python thread-per-client server.
# Writes bench-results/echo.md; see docs/tcp-echo.md. Takes a few minutes.
bench-echo: build
	bash scripts/bench-echo

# 1,000 bot players against the game server at three thinking times; writes bench-results/game.md.
bench-game: build
	bash scripts/bench-game

# 1 GiB RETR and STOR with curl, ftp-lab against vsftpd (needs vsftpd and curl); see docs/ftp.md.
bench-ftp: build
	bash labs/ftp/bench/bench-vs-vsftpd.sh

# The labs side by side for a class: compare-results/report.md, CSV files and SVG charts.
# `make compare` is the full run (5 to 7 minutes on 2 cores); `make compare-quick` (or
# `make compare ARGS=--quick`) finishes in under 2 minutes. As root on Linux the chat comparison
# runs in a lossy network namespace; see scripts/compare-protocols.
compare:
	bash scripts/compare-protocols $(ARGS)

compare-quick:
	bash scripts/compare-protocols --quick $(ARGS)

# Classes on several hosts with Mininet (Linux, root; apt-get install mininet bridge-utils); see
# docs/README.md. `make mininet` opens Mininet's CLI on a star of 3 hosts,
# `make mininet TOPOLOGY=nat` another topology, `make mininet SCENARIO=chat` runs one scenario
# (echo, chat, udp-chat, game, ftp-nat), ARGS passes options (ARGS="--hosts 5 --loss 5").
mininet: build
	bash scripts/mininet-lab $(if $(SCENARIO),run $(SCENARIO),cli $(or $(TOPOLOGY),star)) $(ARGS)

clean:
	$(CARGO) clean
