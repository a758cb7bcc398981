#!/usr/bin/env bash
# Builds and runs every test project, then prints one summary line: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

dotnet build Ztunnel.sln -c Release -nologo -clp:ErrorsOnly || exit 1
# The end-to-end tests run the daemon as it ships (NativeAOT): what ahead-of-time compilation would break shows here.
scripts/publish.sh "$results/publish" || exit 1

status=0
for project in tests/Ztunnel.Tests tests/Ztunnel.E2E; do
  name=$(basename "$project")
  ZTUNNEL_BINARY=$results/publish/ztunnel dotnet test "$project" -c Release --no-build -nologo \
    --logger "trx;LogFileName=$results/$name.trx" --logger "console;verbosity=normal" \
    ${TEST_FILTER:+--filter "$TEST_FILTER"} || status=1
done

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); passed=$((passed + ${p:-0}))
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters"); failed=$((failed + ${f:-0}))
  n=$(sed -n 's/.* notExecuted="\([0-9]*\)".*/\1/p' <<<"$counters"); skipped=$((skipped + ${n:-0}))
done
echo
# Name the failures again at the very end: CI keeps only the tail of the output.
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  grep -o '<UnitTestResult [^>]*outcome="Failed"[^>]*>' "$trx" | sed -n 's/.* testName="\([^"]*\)".*/FAILED: \1/p'
done
echo "Tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || status=1
exit $status
