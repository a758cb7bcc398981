#!/usr/bin/env bash
# Publishes the daemon as it ships: one NativeAOT executable for linux-x64 (see src/Ztunnel/Ztunnel.csproj), into $1
# (default dist/linux-x64), with its symbols beside it (ztunnel.dbg). The Dockerfile, the end-to-end tests (make test)
# and the bench run this build. Needs a C toolchain and zlib (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist/linux-x64}
if ! command -v clang >/dev/null && ! command -v gcc >/dev/null || [ ! -e /usr/include/zlib.h ]; then
  echo "publish: NativeAOT links with a C compiler (clang or gcc) and zlib; run 'make deps' or install gcc and zlib1g-dev" >&2
  exit 1
fi
dotnet publish src/Ztunnel -c Release -f net9.0 -r linux-x64 -nologo -clp:ErrorsOnly -v:q -o "$out"
