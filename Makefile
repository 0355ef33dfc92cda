# Signpost. `make help` lists the targets.
SHELL := /bin/bash
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
PKG := github.com/signpost-go/signpost/internal/buildinfo
DOCKER ?= docker
IMAGE ?= signpost:$(VERSION)
# Extra `docker build` flags for `make image`, e.g. --platform linux/arm64 or --build-arg UPX=1.
DOCKER_BUILD_FLAGS ?=
LDFLAGS := -s -w -X $(PKG).Version=$(VERSION) -X $(PKG).Revision=$(REVISION) -X $(PKG).Date=$(DATE)

.PHONY: help run build test test-short test-postgres test-oidc test-fleet test-browser test-docker test-k8s test-release test-openapi bench dist dist-upx image

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  %-14s %s\n", $$1, $$2 }'

run: ## start the service on SQLite (signpost.db) at http://localhost:8080
	go run ./cmd/signpost serve

build: ## build ./signpost, static and stamped
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o signpost ./cmd/signpost

test: ## the whole suite: installs what it needs, runs everything (CI runs this)
	scripts/test-all.sh

test-short: ## go test ./... (fast; PostgreSQL and browser tests skip, the release test builds this platform only)
	go test ./...

test-postgres: ## Go tests against a throwaway PostgreSQL
	scripts/test-postgres.sh

test-oidc: ## sign-in tests through the test OpenID provider (tools/testoidc)
	scripts/test-oidc.sh

test-fleet: ## three replicas behind a real HAProxy under load: restarts, a crash, database outages
	scripts/test-fleet.sh

test-browser: ## the headless Chromium tests (sign-in included)
	scripts/test-browser.sh

test-docker: ## build and run the image with a real Docker engine
	scripts/test-docker.sh

test-k8s: ## lint, render and validate the Helm chart and manifests, promtool the alerts
	scripts/test-k8s.sh

test-release: ## goreleaser check and a snapshot build of the release
	scripts/test-release.sh

test-openapi: ## lint the OpenAPI description, run a client generated from it
	scripts/test-openapi.sh

bench: ## redirect throughput vs a bare net/http server (wrk), and Go benchmarks
	bench/redirect.sh
	go test -run XXX -bench . -benchmem ./internal/web/

# scripts/dist.sh reads DIST_DIR, PLATFORMS, UPX_BIN, UPX_TARGETS, REVISION and
# DATE from its environment, so give them on make's command line (make passes
# command-line variables on) or in the environment. Left unset, REVISION and
# DATE are the commit's, not the clock default above: one commit, same bytes.
dist: ## cross-compile static, stamped release binaries + SHA256SUMS into dist/ (VERSION=v1.2.3)
	scripts/dist.sh $(VERSION)

dist-upx: ## dist, plus UPX-packed copies in dist/upx/ (says so when upx is missing)
	scripts/dist.sh --upx $(VERSION)

image: ## docker build the image signpost:VERSION, stamped with VERSION, REVISION and DATE
	$(DOCKER) build $(DOCKER_BUILD_FLAGS) --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) --build-arg DATE=$(DATE) -t $(IMAGE) .
