#!/usr/bin/env bash
# `make demo`: two nodes and five pods as network namespaces on this machine, one Ztunnel daemon per
# node with the built-in CA, real traffic between the pods, and the evidence written to $DEMO_OUT.
# Everything it creates is removed at the end, also on failure or Ctrl-C. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

P=${ZT_PREFIX:-ztd}                       # prefix of every namespace and link the demo creates
OUT=$(realpath -m "${DEMO_OUT:-./demo-out}")
RUN=$(mktemp -d /tmp/ztunnel-demo.XXXXXX)
BIN=src/Ztunnel/bin/Release/net10.0/ztunnel
APP="/usr/bin/python3 $PWD/scripts/demo/app.py"
MARKER="ZTUNNEL-DEMO-PLAINTEXT-MARKER"
PIDS=()
# shellcheck source=scripts/lib/topology.sh
source scripts/lib/topology.sh

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

cleanup() {
  set +e
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  for ns in $(ip netns list | awk '{print $1}' | grep "^$P-"); do
    # Kill what still runs inside (servers, tcpdump) before the namespace goes.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns delete "$ns"
  done
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || { echo "make demo needs root (network namespaces, iptables)"; exit 1; }
rm -rf "$OUT"; mkdir -p "$OUT"

say "Building"
dotnet build src/Ztunnel -c Release -nologo -clp:ErrorsOnly -v:q >/dev/null

say "Creating the topology: node-a (10.10.1.0/24) <-> node-b (10.10.2.0/24)"
create_nodes
add_pod a sleep 10.10.1.10; add_pod a intruder 10.10.1.11; add_pod a echo-a 10.10.1.20
add_pod b echo-b 10.10.2.20; add_pod b legacy 10.10.2.30
ip netns list | grep "^$P-" | awk '{print "  " $1}'

say "Creating the built-in CA and starting one daemon per node"
$BIN ca init "$RUN/ca" | sed 's/^/  /'
for node in a b; do
  mkdir -p "$RUN/node-$node"
  { echo "nodeName: node-$node"; echo "trustDomain: cluster.local"; echo "caDir: $RUN/ca"
    echo "registrationSocket: $RUN/node-$node/cni.sock"; cat scripts/demo/mesh.yaml; } > "$RUN/node-$node/config.yaml"
  cp "$RUN/node-$node/config.yaml" "$OUT/node-$node-config.yaml"
  ip netns exec "$P-node-$node" $BIN run --config "$RUN/node-$node/config.yaml" > "$OUT/node-$node.log" 2>&1 &
  PIDS+=($!)
done
for node in a b; do
  for _ in $(seq 100); do [ -S "$RUN/node-$node/cni.sock" ] && break; sleep 0.1; done
  [ -S "$RUN/node-$node/cni.sock" ] || { echo "daemon on node-$node did not start:"; cat "$OUT/node-$node.log"; exit 1; }
  echo "  node-$node: daemon pid ${PIDS[-1]}, registration socket $RUN/node-$node/cni.sock"
done

say "Registering the meshed pods through the CNI plugin (legacy stays out of the mesh)"
register() { # node pod uid ip namespace
  local result
  result=$(printf '{"cniVersion":"1.0.0","name":"demo","type":"ztunnel","socketPath":"%s","prevResult":{"cniVersion":"1.0.0","ips":[{"address":"%s/24"}]}}' \
      "$RUN/node-$1/cni.sock" "$4" |
    CNI_COMMAND=ADD CNI_CONTAINERID="sandbox-$3" CNI_NETNS="/var/run/netns/$P-$2" CNI_IFNAME=eth0 \
    CNI_ARGS="K8S_POD_NAMESPACE=$5;K8S_POD_NAME=$2;K8S_POD_UID=$3" $BIN cni) || { echo "  $2: $result"; exit 1; }
  echo "  $2 ($4) on node-$1: registered"
}
register a sleep sleep-1 10.10.1.10 demo; register a intruder intruder-1 10.10.1.11 demo
register a echo-a echo-a 10.10.1.20 demo; register b echo-b echo-b 10.10.2.20 demo

say "Starting the apps (plain TCP servers on :8080; they know nothing of the mesh)"
for pod in echo-a echo-b legacy; do
  ip netns exec "$P-$pod" $APP serve "$pod" 8080 > "$OUT/app-$pod.log" 2>&1 &
  PIDS+=($!)
done
for pod in echo-a echo-b legacy; do
  for _ in $(seq 50); do ip netns exec "$P-$pod" ss -ltn | grep -q ':8080 ' && break; sleep 0.1; done
done
ip netns exec "$P-node-a" tcpdump -i "$P-ab" -s 0 -U -w "$OUT/node-link.pcap" tcp >/dev/null 2>&1 &
TCPDUMP=$!; PIDS+=($TCPDUMP)
for _ in $(seq 50); do [ -s "$OUT/node-link.pcap" ] && break; sleep 0.1; done

run() { # title pod host port
  local title=$1 pod=$2; shift 2
  echo "-- $title"
  echo "   \$ (in pod $pod) connect $1:$2"
  ip netns exec "$P-$pod" $APP call "$1" "$2" "$MARKER from $pod" | sed 's/^/   /' | tee -a "$OUT/summary.txt" || true
}
{
  echo "Ztunnel demo — $(date -u +%FT%TZ)"
  echo "node-a: pods sleep 10.10.1.10 (sa sleep), intruder 10.10.1.11 (sa intruder), echo-a 10.10.1.20 (sa echo)"
  echo "node-b: pods echo-b 10.10.2.20 (sa echo), legacy 10.10.2.30 (not in the mesh)"
  echo
} > "$OUT/summary.txt"

say "Traffic"
run "sleep -> echo-b across nodes over HBONE (the app must see sleep's own IP 10.10.1.10)" sleep 10.10.2.20 8080
run "sleep -> echo-a on the same node over HBONE" sleep 10.10.1.20 8080
run "sleep -> service VIP 10.96.0.20:80 (echo-a is unhealthy, so always echo-b:8080)" sleep 10.96.0.20 80
run "sleep -> legacy (outside the mesh: plain TCP passthrough)" sleep 10.10.2.30 8080
run "intruder -> echo-b: denied by AuthorizationPolicy demo/echo-allow-sleep (HTTP 401 on the CONNECT)" intruder 10.10.2.20 8080
run "legacy -> echo-b: plaintext from outside the mesh, denied by PeerAuthentication STRICT" legacy 10.10.2.20 8080

say "Evidence"
# tcpdump writes packets as they come (-U); the passthrough connection's plaintext is the last thing we
# expect on the link, so wait for it (bounded) before stopping the capture.
for _ in $(seq 50); do grep -aq "$MARKER" "$OUT/node-link.pcap" && break; sleep 0.1; done
kill "$TCPDUMP" 2>/dev/null || true; wait "$TCPDUMP" 2>/dev/null || true
packets=$(tcpdump -r "$OUT/node-link.pcap" 2>/dev/null | wc -l)
tcpdump -r "$OUT/node-link.pcap" -w "$RUN/hbone.pcap" 'tcp port 15008' 2>/dev/null
hbone=$(tcpdump -r "$RUN/hbone.pcap" 2>/dev/null | wc -l)
tcpdump -r "$OUT/node-link.pcap" -w "$RUN/plain.pcap" 'tcp port 8080' 2>/dev/null
if grep -aq "$MARKER" "$RUN/hbone.pcap"; then leak="FOUND in cleartext (the tunnel was NOT encrypted)"; else leak="absent (the tunnels carried only TLS)"; fi
if grep -aq "$MARKER" "$RUN/plain.pcap"; then passthrough="visible, as expected for a destination outside the mesh"; else passthrough="not seen"; fi
{
  echo
  echo "node-a <-> node-b link: $packets packets captured, $hbone of them to/from port 15008 (HBONE)"
  echo "plaintext marker '$MARKER' in the HBONE (port 15008) traffic: $leak"
  echo "the same marker in the passthrough connection to legacy (port 8080): $passthrough"
  echo
  echo "what the apps saw (their own logs):"
  cat "$OUT"/app-*.log | sed 's/^/  /'
  echo
  echo "identities the daemons issued (from their logs):"
  grep -ho "spiffe://[a-z0-9./_-]*[a-z0-9]" "$OUT"/node-*.log | sort -u | sed 's/^/  /'
  echo
  echo "decisions (from the daemons' logs):"
  grep -h "Denied" "$OUT"/node-*.log | sed 's/^/  /'
} | tee -a "$OUT/summary.txt"

say "Each daemon's metrics scrape, config dump and readiness"
for node in a b; do
  ip netns exec "$P-node-$node" curl -sf 127.0.0.1:15020/metrics > "$OUT/node-$node-metrics.txt" || echo "  node-$node: metrics scrape failed"
  ip netns exec "$P-node-$node" curl -sf 127.0.0.1:15000/config_dump > "$OUT/node-$node-config_dump.json" || echo "  node-$node: config dump failed"
  ready=$(ip netns exec "$P-node-$node" curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:15021/healthz/ready || true)
  echo "  node-$node: readiness $ready"
done
{
  echo
  echo "metrics (istio_tcp_* with reporter, workloads, principals, response_flags) on node-b:"
  grep -E '^istio_tcp_connections_(opened|failed)_total|^ztunnel_authorization_denied_total' "$OUT/node-b-metrics.txt" |
    sed -E 's/(source_canonical|source_app|source_version|source_cluster|destination_canonical|destination_app|destination_version|destination_cluster|request_protocol|destination_service_name|destination_service_namespace)[a-z_]*="[^"]*",?//g' | sed 's/^/  /'
} | tee -a "$OUT/summary.txt"

say "Stopping the daemons (SIGTERM: drain, exit 0)"
for i in 0 1; do kill -TERM "${PIDS[$i]}"; done
for i in 0 1; do wait "${PIDS[$i]}" && echo "  daemon ${PIDS[$i]} exited 0" || echo "  daemon ${PIDS[$i]} exited $?"; done
PIDS=("${PIDS[@]:2}")
echo
echo "Evidence written to $OUT: summary.txt, node-*.log (daemon and access logs), node-*-metrics.txt,"
echo "node-*-config_dump.json, node-*-config.yaml, app-*.log, node-link.pcap"
