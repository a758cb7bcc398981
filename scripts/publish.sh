#!/usr/bin/env bash
# Publishes the daemon as it ships: self-contained for linux-x64 and trimmed (see src/Ztunnel/Ztunnel.csproj),
# into $1 (default dist/linux-x64). The Dockerfile, the end-to-end tests (make test) and the bench run this build.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist/linux-x64}
dotnet publish src/Ztunnel -c Release -r linux-x64 -nologo -clp:ErrorsOnly -v:q -o "$out"
