# netlab: two commands do everything on a fresh machine with only the Rust toolchain.
#   make demo   runs every lab end to end on loopback and shows the conversation
#   make test   runs the whole test suite (format, lints, unit, property and integration tests)

CARGO ?= cargo

.PHONY: all build demo test lint fmt bench-echo clean

all: build

build:
	$(CARGO) build --workspace --release

demo: build
	bash scripts/demo

test: lint
	$(CARGO) test --workspace --all-targets
	$(CARGO) test --workspace --doc

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

# Side-by-side echo benchmark: netlab (threads, mio) vs tokio vs a Python thread-per-client server.
# Writes bench-results/echo.md; see docs/tcp-echo.md. Takes a few minutes.
bench-echo: build
	bash scripts/bench-echo

clean:
	$(CARGO) clean
