#!/usr/bin/env bash
# make bench: every figure the issues name, written to bench/*.txt. Each figure is a
# ratio against a baseline measured in the same run where the issue asks for one:
# the machines are shared and noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench
command -v wrk >/dev/null || { echo "bench: wrk is missing (apt-get install wrk)" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "== plugin dispatch (go test -bench) -> bench/host-dispatch.txt"
{
	echo "# go test -run=^\$ -bench=. -benchtime=20000x ./host/plugin/   ($(date -u +%FT%TZ))"
	echo "# Dispatch: host -> guest -> host for a constant route (target p50 <= 15 us);"
	echo "# ShowJob: GET /api/jobs/{id} handler, Wasm vs the same handler linked natively, no HTTP."
	go test -run='^$' -bench=. -benchtime=20000x ./host/plugin/
} | tee bench/host-dispatch.txt

echo "== edge host (wrk, cold start, memory) -> bench/host.txt"
go run ./internal/bench/hostbench -out bench/host.txt

echo "== realtime core -> bench/realtime.txt"
go run ./realtime/cmd/rtbench -out bench/realtime.txt

echo "== search -> bench/search.txt"
go run ./search/cmd/searchbench -out bench/search.txt ${SEARCHBENCH_ARGS:-}
