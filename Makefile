# Ztunnel: the commands a user and CI run. `make test` is what CI calls.
SHELL := /bin/bash
.DEFAULT_GOAL := build

.PHONY: deps build publish test unit e2e bench bench-micro demo clean

deps:
	@scripts/install-deps.sh

build:
	dotnet build Ztunnel.sln -c Release -nologo -clp:ErrorsOnly

## The daemon as it ships: one NativeAOT executable, linux-x64, in $(PUBLISH_DIR) (default dist/linux-x64).
PUBLISH_DIR ?= dist/linux-x64
publish:
	@scripts/publish.sh $(PUBLISH_DIR)

## Installs what the tests need, builds, runs every test (unit and end-to-end; needs root).
test: deps
	@scripts/test.sh

unit:
	dotnet test tests/Ztunnel.Tests -c Release -nologo

e2e: deps
	dotnet test tests/Ztunnel.E2E -c Release -nologo

## Two nodes and five pods in network namespaces, real traffic, evidence in $(DEMO_OUT) (default ./demo-out). Needs root.
demo: deps
	@scripts/demo.sh

## End-to-end bench (needs root): direct kernel path, Ztunnel, stunnel and haproxy mTLS pairs in one run;
## interleaved in BENCH_ROUNDS rounds; table on stdout, CSV in bench-out/results.csv. Knobs: BENCH_DURATION,
## BENCH_ROUNDS, BENCH_HOLD, BENCH_SCENARIOS, BENCH_*_CPUS, BENCH_ZTUNNEL_LOGLEVEL.
bench:
	@scripts/install-deps.sh --bench
	@scripts/bench/bench.sh

## BenchmarkDotNet micro benchmarks (HPACK, frames) and the loopback tunnel throughput bench.
bench-micro:
	dotnet run -c Release --project bench/Ztunnel.Bench -- --filter '*'

clean:
	dotnet clean Ztunnel.sln -nologo >/dev/null
	rm -rf demo-out bench-out dist
