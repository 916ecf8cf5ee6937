# The two commands a newcomer needs: `make demo` runs the whole hotline on embedded defaults,
# `make test` runs every test. Both need only Go and the Debian packages .ci/run installs.

GO ?= go

.PHONY: demo test build bench vet chaos

# The demo runs the built binary: `go run` exits with status 1 when it is interrupted, however
# cleanly the program stopped, and Ctrl-C is how the demo ends.
demo: build
	$(BIN) demo

test:
	$(GO) test -count=1 -timeout 20m ./...

# The slow fault tests (processes killed, the database restarted, nodes restarted under load):
# named TestChaos* and built only with the chaos tag, so `make test` stays fast.
chaos:
	$(GO) test -tags chaos -run Chaos -count=1 -timeout 30m ./...

VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo devel)
BIN ?= bin/hotline

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/hotline

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
