# pop_exporter - common tasks. `make test` is what CI runs (after gofmt and go vet).
GO        ?= go
# The release version is the VERSION file (also read by the Dockerfile and recorded in
# CHANGELOG.md); the revision and branch come from git.
VERSION   ?= $(shell cat VERSION)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
VPKG      := github.com/prometheus/common/version
LDFLAGS   := -s -w -X $(VPKG).Version=$(VERSION) -X $(VPKG).Revision=$(REVISION) -X $(VPKG).Branch=$(BRANCH) \
             -X $(VPKG).BuildUser=$(shell whoami)@$(shell hostname) -X $(VPKG).BuildDate=$(shell date -u +%Y%m%d-%H:%M:%S)

.PHONY: all build docker test requirements helm prometheus3 lint bench loadtest soak rulebench fuzz generate demo run clean

all: lint test build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/pop_exporter ./cmd/pop_exporter
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/cdnsim ./cmd/cdnsim

# The image of the Dockerfile, tagged v$(VERSION) and stamped with the git revision.
docker:
	docker build --build-arg REVISION=$(REVISION) --build-arg BRANCH=$(BRANCH) -t pop_exporter:v$(VERSION) .

# The test command of README.md: unit, collector, promtool, Helm chart and end-to-end tests with
# the race detector. It first checks the requirements (`make requirements`: a C compiler, as
# -race needs cgo, and the Debian packages prometheus and prometheus-alertmanager), then builds
# Helm and Prometheus 3 (`make helm`, `make prometheus3`: once, from the Go module proxy into
# the user cache directory, a few minutes each; later runs find them there). The tests never
# build anything themselves: under plain `go test ./...` the tests whose tool is missing skip
# (`go test -v` shows why), and under CI=true they fail.
test: requirements helm prometheus3
	$(GO) test -race -count=1 -timeout 20m ./...

# Says what `make test` needs and stops when something it cannot do without is missing.
requirements:
	@command -v $(firstword $(CC) cc) >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || { \
	  echo "make test: no C compiler: the race detector (go test -race) needs cgo. Debian/Ubuntu: apt-get install gcc"; exit 1; }
	@command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || { \
	  echo "make test: prometheus and promtool are missing: the rule tests and end-to-end tests need them. Debian/Ubuntu: apt-get install prometheus"; exit 1; }
	@command -v amtool >/dev/null 2>&1 || \
	  echo "make test: amtool is missing, so the Alertmanager config is only partly checked (its test skips). Debian/Ubuntu: apt-get install prometheus-alertmanager"
	@echo "make test: requirements found: C compiler, prometheus $$(prometheus --version 2>&1 | awk 'NR==1{print $$3}'), promtool$$(command -v amtool >/dev/null && echo ', amtool')"

# Builds the Helm version the chart tests use into the user cache directory, unless it is there.
helm:
	@echo "make: Helm for the chart tests (built once from the Go module proxy, then cached)"
	POP_BUILD_TOOLS=1 $(GO) test -v -count=1 -timeout 30m -run '^TestHelmBinary$$' ./deploy/

# Builds the Prometheus 3 server the end-to-end tests run (from the Go module proxy, into the
# user cache directory), unless it is there.
prometheus3:
	@echo "make: Prometheus 3 for the end-to-end tests (built once from the Go module proxy, then cached)"
	POP_BUILD_TOOLS=1 $(GO) test -v -count=1 -timeout 30m -run '^TestPrometheus3Binary$$' ./deploy/

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

run:
	$(GO) run ./cmd/pop_exporter

bench:
	$(GO) test -run XXX -bench . -benchmem ./collector/edge/ ./collector/geo/
	$(GO) test -run XXX -bench TTFB -benchtime 1x ./collector/prober/

# The scale scenario against the real binary (README, Performance). Parameters:
#   make loadtest TARGETS=10000 INTERVAL=30s DURATION=120 DETAIL=full BLACKBOX=1
TARGETS  ?= 2000
INTERVAL ?= 10s
DURATION ?= 60
DETAIL   ?=
BLACKBOX ?= 0
PROFILE  ?=
PROTOCOL ?=
loadtest:
	POP_LOADTEST=1 POP_LOADTEST_PROTOCOL=$(PROTOCOL) POP_LOADTEST_TARGETS=$(TARGETS) POP_LOADTEST_INTERVAL=$(INTERVAL) POP_LOADTEST_SECONDS=$(DURATION) \
	POP_LOADTEST_DETAIL=$(DETAIL) POP_LOADTEST_BLACKBOX=$(BLACKBOX) POP_LOADTEST_PROFILE=$(abspath $(PROFILE)) \
	$(GO) test -run TestLoad -v -count=1 -timeout 30m ./cmd/pop_exporter/

# The soak scenario against the real binary (README, Performance): targets, reloads and
# target file rewrites on a schedule; a report every 30 s; fails on growth. Not part of test.
#   make soak SOAK_TARGETS=2000 SOAK_INTERVAL=5s SOAK_DURATION=600 SOAK_RELOAD=30s SOAK_REWRITE=10s
SOAK_TARGETS  ?= 2000
SOAK_INTERVAL ?= 5s
SOAK_DURATION ?= 600
SOAK_RELOAD   ?= 30s
SOAK_REWRITE  ?= 10s
soak:
	POP_SOAK=1 POP_SOAK_TARGETS=$(SOAK_TARGETS) POP_SOAK_INTERVAL=$(SOAK_INTERVAL) POP_SOAK_SECONDS=$(SOAK_DURATION) \
	POP_SOAK_RELOAD=$(SOAK_RELOAD) POP_SOAK_REWRITE=$(SOAK_REWRITE) \
	$(GO) test -run '^TestSoak$$' -v -count=1 -timeout 3h ./cmd/pop_exporter/

# What the rules cost the Prometheus that evaluates them (README, Cost): one real scrape of
# BENCH_TARGETS cdnsim targets served as BENCH_VANTAGES vantages to a real Prometheus (rules every 15 s),
# per-group and per-rule evaluation time, recorded series per probe, Prometheus CPU. Not part
# of `make test`. Parameters:
#   make rulebench BENCH_TARGETS=1000 BENCH_VANTAGES=5 BENCH_SECONDS=150 RULES=my.rules.yml PROMETHEUS3=1
#   RULES=none runs Prometheus without rules: the CPU that scraping and storage take alone.
BENCH_TARGETS  ?= 1000
BENCH_VANTAGES ?= 5
BENCH_SECONDS  ?= 150
RULES          ?=
PROMETHEUS3    ?=
rulebench:
	POP_RULEBENCH=1 POP_RULEBENCH_TARGETS=$(BENCH_TARGETS) POP_RULEBENCH_VANTAGES=$(BENCH_VANTAGES) \
	POP_RULEBENCH_SECONDS=$(BENCH_SECONDS) POP_RULEBENCH_RULES=$(abspath $(RULES)) POP_RULEBENCH_PROMETHEUS3=$(PROMETHEUS3) \
	$(GO) test -run '^TestRuleBench$$' -v -count=1 -timeout 30m ./deploy/

fuzz:
	$(GO) test -run XXX -fuzz FuzzIdentify -fuzztime 2m ./collector/edge/

generate:
	$(GO) generate ./...

# cdnsim + pop_exporter (+ Prometheus when installed) on loopback; prints where to look.
demo:
	./deploy/demo.sh

clean:
	rm -rf bin
