# SharpJob Edge. The two commands: `make run` and `make test`.
GO ?= go
export PATH := $(CURDIR)/tools/bin:$(PATH)

.PHONY: all build binary plugins run test test-short bench tools clean
all: build

build: binary plugins

binary:
	$(GO) build -o bin/sharpjob ./cmd/sharpjob

plugins:
	@$(MAKE) --no-print-directory -f wasm.Makefile

## run: build everything and serve the host (:8000) and the realtime core (:6001)
##      on an embedded libSQL file under ./data
run: build
	SHARPJOB_LOG_FORMAT=$${SHARPJOB_LOG_FORMAT:-text} ./bin/sharpjob serve

## tools: the real servers and JS clients the tests use (sqld, meilisearch, pusher-js...)
tools:
	@bash scripts/tools.sh

## test: every test, against real sqld, Meilisearch, Redis and JS clients
test: tools build
	SHARPJOB_REQUIRE_SERVERS=1 $(GO) test -count=1 -timeout 40m ./...
	@echo "== the cgo-free build (libsql-client-go, remote only) against sqld"
	SHARPJOB_REQUIRE_SERVERS=1 CGO_ENABLED=0 $(GO) test -count=1 -tags libsqlclient ./store/

test-short: build
	$(GO) test -count=1 ./...

## bench: the figures the issues name, written to bench/*.txt
bench: tools build
	@bash scripts/bench.sh

clean:
	rm -rf bin build .cache
