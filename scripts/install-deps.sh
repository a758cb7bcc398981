#!/usr/bin/env bash
# Installs the Debian packages the tests, the demo and the bench use. Idempotent: does nothing when
# everything is present. Needs root (apt-get), as the tests themselves do (network namespaces).
set -euo pipefail

want=(openssl iptables iproute2 python3-h2 tcpdump procps curl prometheus)
# The NativeAOT publish (scripts/publish.sh) links with the C toolchain and zlib.
want+=(gcc zlib1g-dev)
[ "${1:-}" = "--bench" ] && want+=(iperf3 stunnel4 haproxy jq curl util-linux)

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
# Node.js may come from another source than Debian's package; any node with the http2 module will do.
command -v node >/dev/null 2>&1 || missing+=(nodejs)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
