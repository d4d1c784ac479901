# subledger's everyday commands. Tools (staticcheck, stripe-mock) are declared
# in go.mod and run through `go tool`, so nothing needs installing by hand.
GO ?= go

.PHONY: run test bench lint build screenshots

run:
	$(GO) run ./cmd/subledger serve

build:
	$(GO) build -o bin/subledger ./cmd/subledger

test:
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -run '^$$' -fuzz '^FuzzBodies$$' -fuzztime 5s ./api/
	@echo "contract suites, by backend (esdb-server runs only with SUBLEDGER_ESDB_URL set):"
	@$(GO) test -count=1 -run '^TestContract$$' -v ./eventstore/... | grep -E -- '^    --- (PASS|FAIL|SKIP): TestContract/[^/ ]+ ' || true

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) run ./cmd/subledger bench append --writers 16 --streams 10000 --events-per-stream 10
	$(GO) run ./cmd/subledger bench rebuild --accounts 100000
	$(GO) run ./cmd/subledger bench http --accounts 100000
	$(GO) run ./cmd/subledger bench webhooks

# A screenshot of each portal page, taken by the browser tests' harness
# (headless Chromium), into docs/.
screenshots:
	SUBLEDGER_SCREENSHOTS=$(CURDIR)/docs SUBLEDGER_REQUIRE_BROWSER=1 $(GO) test -count=1 -run '^TestPortalInBrowser$$' ./test/

lint:
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	@# domain/ (and its own sub-packages) may import nothing else of ours.
	@bad=$$($(GO) list -f '{{join .Imports "\n"}}' ./domain/... | grep '^github.com/aseptsoft/subledger' | grep -v '^github.com/aseptsoft/subledger/domain\(/\|$$\)' || true); \
	if [ -n "$$bad" ]; then echo "domain/ imports our own packages:"; echo "$$bad"; exit 1; fi
