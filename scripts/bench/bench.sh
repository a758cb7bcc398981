#!/usr/bin/env bash
# `make bench`: end-to-end benchmark of Ztunnel against the kernel path and two mTLS proxies, in one run on
# this machine. Topology (network namespaces and veth links, as in scripts/demo.sh; scripts/bench/topology.sh):
#
#   client pod  10.10.1.10 -- node A (br0 10.10.1.1, link 10.10.0.1) == node B (10.10.0.2, br0 10.10.2.1) -- server pod  10.10.2.20
#   pclient pod 10.10.1.11 --/                                                                        \-- pserver pod 10.10.2.21
#
# Scenarios, with the same load generators:
#   direct   pclient -> pserver pod, no proxy
#   stunnel  pclient -> stunnel (client mode, node A) =TLS 1.3 mTLS=> stunnel (server mode, node B) -> pserver pod
#   haproxy  the same with haproxy (mode tcp, ssl crt/ca-file verify required on both hops)
#   ztunnel  one daemon per node, client and server pods registered, traffic captured, HBONE (mTLS + HTTP/2 CONNECT)
#   floor    Ztunnel's capture path without Ztunnel: its pod rules in a third pod pair (fclient -> fserver), a plain C
#            relay (scripts/bench/floor-relay.c) where the daemons listen, no TLS. What it adds over direct is what in-pod
#            capture costs in the kernel on this machine; what Ztunnel adds over it is the daemon's own work
#   ztunnel2 (A/B runs only: BENCH_SCENARIOS="ztunnel ztunnel2") a second daemon pair, BENCH_ZTUNNEL2_BIN with
#            BENCH_ZTUNNEL2_ENV, enrolling the peer pods: two builds or settings measured in the same rounds, so the
#            report's per-round ratio ztunnel2/ztunnel is free of the machine's drift between runs
# Interleaved: every scenario's proxies start up front (idle ones cost ~0 CPU), each is warmed up, then
# $BENCH_ROUNDS rounds run every scenario's timed measurements one scenario after the other, the order
# rotating each round. The machine's speed drifts by +-15% over minutes; a ratio is taken per round, from
# measurements a few minutes apart at most, and the report gives the median over the rounds.
# Pinning: load generators and servers on $BENCH_APP_CPUS, both proxy processes of a scenario on
# $BENCH_PROXY_CPUS, so every proxy pair gets the same CPU budget and never competes with the load.
# Results: table on stdout, CSV in $BENCH_OUT/results.csv. Everything it creates is removed at the end.
set -Eeuo pipefail
trap 'echo "bench.sh: stopped by a failed command at ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/../.."

P=${BENCH_PREFIX:-zbench}                  # prefix of every namespace and link the bench creates
OUT=$(realpath -m "${BENCH_OUT:-./bench-out}")
DURATION=${BENCH_DURATION:-4}             # seconds per measurement
ROUNDS=${BENCH_ROUNDS:-3}                 # rounds of every scenario's timed measurements
WARMUP=${BENCH_WARMUP:-3}                 # seconds of unrecorded bulk and connection traffic per scenario
JIT_QUIET_MS=${BENCH_JIT_QUIET_MS:-25}     # Ztunnel: more warm-up rounds until one costs less JIT time than this (ms, both daemons)
JIT_MAX_ROUNDS=${BENCH_JIT_MAX_ROUNDS:-8}  # ... but at most this many 2 s rounds
HOLD=${BENCH_HOLD:-2000}                  # idle connections held for the memory measurement
CONCURRENCY=${BENCH_CONCURRENCY:-4}       # connection-rate client threads
SCENARIOS=${BENCH_SCENARIOS:-direct stunnel haproxy ztunnel floor}
NCPU=$(nproc)
APP_CPUS=${BENCH_APP_CPUS:-0}
PROXY_CPUS=${BENCH_PROXY_CPUS:-$([ "$NCPU" -gt 1 ] && echo 1 || echo 0)}
BIN=${BENCH_ZTUNNEL_BIN:-$PWD/dist/linux-x64/ztunnel}   # the daemon as it ships (scripts/publish.sh), or another build
BIN2=${BENCH_ZTUNNEL2_BIN:-$BIN}                        # the ztunnel2 scenario's daemon (default: the same)
ZT_LOGLEVEL=${BENCH_ZTUNNEL_LOGLEVEL:-warn}             # the daemons' logLevel
LOADGEN=$PWD/bench/Ztunnel.LoadGen/bin/Release/net10.0/ztunnel-loadgen
CLIENT_IP=10.10.1.10 SERVER_IP=10.10.2.20 NODE_A_POD_GW=10.10.1.1 NODE_B_LINK=10.10.0.2
PEER_CLIENT_IP=10.10.1.11 PEER_SERVER_IP=10.10.2.21   # the pods of direct, stunnel, haproxy (never enrolled)
FLOOR_CLIENT_IP=10.10.1.12 FLOOR_SERVER_IP=10.10.2.22 # the pods of the capture floor (start_floor)
IPERF_PORT=5201 ECHO_PORT=7000           # in both server pods
PEER_IPERF_PORT=0 PEER_ECHO_PORT=0       # set per peer before start_*: each pair listens on its own ports
CLK_TCK=$(getconf CLK_TCK)
RUN=$(mktemp -d /tmp/ztunnel-bench.XXXXXX)
RESULTS=$RUN/results.txt
PIDS=()          # long-lived processes of the whole run (servers)
PROXIES=()       # proxy processes of the current scenario (use_scenario), or of the one being started
ALL_PROXIES=()   # proxy processes of every scenario
ROUND=""         # the round being measured: record() then appends @<round> to the key
# Per scenario: its proxies' pids, the pods its load runs between, and the address and ports it targets.
declare -A S_PIDS=() S_CLIENT=() S_SERVER=() S_IP=() S_IPORT=() S_EPORT=() S_METRICS=()
CLIENT_NS="" SERVER_NS="" TARGET_IP="" TARGET_IPORT="" TARGET_EPORT="" ZT_METRICS_PORT=""

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '  %s\n' "$*"; }
record() { echo "$1 $2${ROUND:+@$ROUND} $3" >> "$RESULTS"; }   # scenario key value

# Files the proxies just started (PROXIES) under the scenario, with the pods and target its load uses.
add_scenario() { # scenario client-ns server-ns ip iperf-port echo-port
  S_PIDS[$1]="${PROXIES[*]}" S_CLIENT[$1]=$2 S_SERVER[$1]=$3 S_IP[$1]=$4 S_IPORT[$1]=$5 S_EPORT[$1]=$6
  ALL_PROXIES+=("${PROXIES[@]}"); PROXIES=()
}

# Makes a scenario the current one for the functions in measure.sh.
use_scenario() { # scenario
  read -ra PROXIES <<<"${S_PIDS[$1]}"
  CLIENT_NS=${S_CLIENT[$1]} SERVER_NS=${S_SERVER[$1]} TARGET_IP=${S_IP[$1]} TARGET_IPORT=${S_IPORT[$1]} TARGET_EPORT=${S_EPORT[$1]}
  ZT_METRICS_PORT=${S_METRICS[$1]:-}
}

stop_proxies() {
  local pid
  for pid in "${PROXIES[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PROXIES[@]}"; do wait "$pid" 2>/dev/null || true; done
  PROXIES=()
}

cleanup() {
  trap - ERR
  set +e
  PROXIES+=("${ALL_PROXIES[@]}")
  stop_proxies
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  cleanup_namespaces
  rm -rf "$RUN"
}

cleanup_namespaces() {
  local ns pid
  for ns in $(ip netns list | awk '{print $1}' | { grep "^$P-" || true; }); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns delete "$ns"
  done
}
[ "$(id -u)" -eq 0 ] || { echo "make bench needs root (network namespaces, iptables)"; exit 1; }
# One bench per prefix at a time: a second one would measure on a shared machine and, worse, its cleanup
# would delete the first one's namespaces. Whatever a crashed earlier run left behind is ours to remove.
exec 8> "/run/lock/ztunnel-bench-$P.lock"
flock -n 8 || { rmdir "$RUN"; echo "another bench with prefix '$P' is running (wait for it, or set BENCH_PREFIX)"; exit 1; }
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup_namespaces

# Runs a command in one of our namespaces. Not for background processes: `in_ns ... &` would fork a
# subshell, and $! would be the subshell's pid, not the process whose CPU and memory we read.
in_ns() { local ns=$1; shift; ip netns exec "$P-$ns" "$@"; }

wait_listen() { # ns port [timeout-s]
  local i
  for i in $(seq $((${3:-10} * 10))); do
    [ -n "$(in_ns "$1" ss -Hltn "sport = :$2")" ] && return 0
    sleep 0.1
  done
  echo "nothing listens on :$2 in $P-$1" >&2; return 1
}

# Stops the run with the proxy's log when one of the scenario's proxies exited.
proxies_alive() {
  local pid
  for pid in "${PROXIES[@]}"; do
    [ -d "/proc/$pid" ] || { echo "proxy process $pid exited; see the logs in $OUT" >&2; tail -n 5 "$OUT"/*.log >&2; exit 1; }
  done
}

# CPU seconds (user+system) a process used so far, in clock ticks.
cpu_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }
proxies_ticks() { proxies_alive; local t=0 pid; for pid in "${PROXIES[@]}"; do t=$((t + $(cpu_ticks "$pid"))); done; echo $t; }
# Context switches (voluntary + involuntary) of every thread of the proxies: each is a wake-up, so per
# MB relayed they show how many hops the data path takes, and unlike CPU time they hardly depend on load.
proxies_ctxsw() {
  proxies_alive
  local pid t=0
  for pid in "${PROXIES[@]}"; do
    t=$((t + $(cat /proc/"$pid"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches:/ {n += $2} END {print n + 0}')))
  done
  echo $t
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# CPU ticks of everything on the machine that is not this bench (processes outside our namespaces, kernel
# threads excluded because they also do our packets' work). Children's time counts once reaped.
foreign_ticks() {
  local ours=" $$ $(for ns in $(ip netns list | awk '{print $1}' | { grep "^$P-" || true; }); do ip netns pids "$ns"; done | tr '\n' ' ') "
  # Processes come and go while cat reads: a vanished one is no error (|| true keeps pipefail quiet).
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v ours="$ours" '
    { pid = $1; line = $0; sub(/^.*\) /, "", line); split(line, f, " ")
      if (index(ours, " " pid " ") || pid == 2 || f[2] == 2) next   # ours, or a kernel thread
      t += f[12] + f[13] + f[14] + f[15] }
    END { print t + 0 }'
}
now_s() { date +%s.%N; }

check_load() { # label: samples other processes for 2 s
  local t0 w0 t1 w1 pct
  t0=$(foreign_ticks); w0=$(now_s); sleep 2; t1=$(foreign_ticks); w1=$(now_s)
  pct=$(awk -v d=$((t1 - t0)) -v w="$(awk -v a="$w0" -v b="$w1" 'BEGIN{print b-a}')" -v hz="$CLK_TCK" 'BEGIN{printf "%.0f", 100 * d / hz / w}')
  echo "$pct"
}

# ---------------------------------------------------------------------------------------------------------

for tool in iperf3 stunnel4 haproxy jq curl taskset flock openssl $([[ " $SCENARIOS " != *" floor "* ]] || echo gcc); do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/install-deps.sh --bench"; exit 1; }
done
rm -rf "$OUT"; mkdir -p "$OUT"
# 2000 held connections through two proxies: ~4000 descriptors per proxy process, more for the load generators.
ulimit -n "$(ulimit -Hn)"

say "Building (Release)"
[ -n "${BENCH_ZTUNNEL_BIN:-}" ] || scripts/publish.sh "$(dirname "$BIN")"
# Which daemon was measured: the commit it was just built from, or, for BENCH_ZTUNNEL_BIN, that file
# (its path and the start of its SHA-256, since the working tree says nothing about it).
ztunnel_version() { # [binary]
  local bin=${1:-$BIN}
  if [ -n "${BENCH_ZTUNNEL_BIN:-}" ] || [ "$bin" != "$BIN" ]; then echo "$bin@sha256:$(sha256sum "$bin" | cut -c1-12)"
  else git describe --always --dirty --abbrev=7; fi
}
dotnet build bench/Ztunnel.LoadGen -c Release -nologo -clp:ErrorsOnly -v:q >/dev/null

say "Machine"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
FOREIGN_BEFORE=$(check_load)
note "$NCPU CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r)"
note "load average $LOAD_BEFORE; other processes used ${FOREIGN_BEFORE}% of one CPU over the last 2 s"
note "pinning: load generators and servers on CPU $APP_CPUS, proxies (both nodes) on CPU $PROXY_CPUS"
[ "$APP_CPUS" = "$PROXY_CPUS" ] && note "WARNING: one CPU only; proxies and load generators share it"
{
  echo "meta date $(date -u +%FT%TZ)"
  echo "meta cpus $NCPU"
  echo "meta cpu_model $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //' | tr ' ' '_')"
  echo "meta kernel $(uname -r)"
  echo "meta load_before ${LOAD_BEFORE// /,}"
  echo "meta foreign_before_pct $FOREIGN_BEFORE"
  echo "meta app_cpus $APP_CPUS"
  echo "meta proxy_cpus $PROXY_CPUS"
  echo "meta ztunnel_bin $BIN"
  [[ " $SCENARIOS " == *" ztunnel2 "* ]] && echo "meta ztunnel2 $(ztunnel_version "$BIN2") ${BENCH_ZTUNNEL2_ENV:-}"
  echo "meta duration_s $DURATION"
  echo "meta rounds $ROUNDS"
  echo "meta warmup_s $WARMUP"
  echo "meta hold $HOLD"
  echo "meta concurrency $CONCURRENCY"
  echo "meta versions ztunnel=$(ztunnel_version),stunnel=$(stunnel -version 2>&1 | awk '/^stunnel/ {print $2; exit}'),haproxy=$(haproxy -v | awk 'NR==1 {print $3}'),openssl=$(openssl version | awk '{print $2}'),iperf3=$(iperf3 --version | awk 'NR==1 {print $2}')"
} > "$RESULTS"

say "Topology: client and pclient pods -> node A == node B -> server and pserver pods"
source scripts/bench/topology.sh
source scripts/bench/peers.sh
source scripts/bench/measure.sh
build_topology
note "namespaces: $(ip netns list | awk '{print $1}' | grep "^$P-" | tr '\n' ' ')"

SERVER_PODS="server pserver"
[[ " $SCENARIOS " != *" floor "* ]] || SERVER_PODS+=" fserver"
for pod in $SERVER_PODS; do
  say "Servers in the $pod pod (CPU $APP_CPUS): iperf3 :$IPERF_PORT, echo :$ECHO_PORT"
  ip netns exec "$P-$pod" taskset -c "$APP_CPUS" iperf3 -s -p "$IPERF_PORT" > "$OUT/iperf3-$pod.log" 2>&1 &
  PIDS+=($!)
  ip netns exec "$P-$pod" env DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 \
    taskset -c "$APP_CPUS" "$LOADGEN" serve --port "$ECHO_PORT" > "$OUT/echo-$pod.log" 2>&1 &
  PIDS+=($!)
done
for pod in $SERVER_PODS; do wait_listen "$pod" "$IPERF_PORT"; wait_listen "$pod" "$ECHO_PORT"; done
# Prove the paths before measuring anything over them.
in_ns client timeout 5 bash -c "exec 3<>/dev/tcp/$SERVER_IP/$ECHO_PORT" || { echo "client pod cannot reach $SERVER_IP:$ECHO_PORT"; exit 1; }
in_ns pclient timeout 5 bash -c "exec 3<>/dev/tcp/$PEER_SERVER_IP/$ECHO_PORT" || { echo "pclient pod cannot reach $PEER_SERVER_IP:$ECHO_PORT"; exit 1; }

# Every scenario's proxies, started up front: idle, they use no CPU to speak of.
mint_certificates
ORDER=()
for scenario in $SCENARIOS; do
  case $scenario in
    direct)  say "Scenario direct: kernel path, no proxy (pclient -> pserver)"
             add_scenario direct pclient pserver "$PEER_SERVER_IP" "$IPERF_PORT" "$ECHO_PORT" ;;
    stunnel) say "Scenario stunnel: stunnel $(stunnel -version 2>&1 | awk '/^stunnel/ {print $2; exit}') mTLS pair (pclient -> pserver)"
             PEER_IPERF_PORT=20001 PEER_ECHO_PORT=20002
             start_stunnel
             add_scenario stunnel pclient pserver "$NODE_A_POD_GW" "$PEER_IPERF_PORT" "$PEER_ECHO_PORT" ;;
    haproxy) say "Scenario haproxy: haproxy $(haproxy -v | awk 'NR==1 {print $3}') mTLS pair (pclient -> pserver)"
             PEER_IPERF_PORT=21001 PEER_ECHO_PORT=21002
             start_haproxy
             add_scenario haproxy pclient pserver "$NODE_A_POD_GW" "$PEER_IPERF_PORT" "$PEER_ECHO_PORT" ;;
    ztunnel) say "Scenario ztunnel: two daemons, captured traffic, HBONE (client -> server)"
             start_ztunnel ztunnel "$BIN" "${BENCH_ZTUNNEL_ENV:-}" client "$CLIENT_IP" server "$SERVER_IP" 0
             add_scenario ztunnel client server "$SERVER_IP" "$IPERF_PORT" "$ECHO_PORT" ;;
    floor)   say "Scenario floor: Ztunnel's in-pod capture rules and legs with a plain C relay, no TLS (fclient -> fserver)"
             start_floor
             add_scenario floor fclient fserver "$FLOOR_SERVER_IP" "$IPERF_PORT" "$ECHO_PORT" ;;
    ztunnel2) say "Scenario ztunnel2: a second daemon pair ($(ztunnel_version "$BIN2") ${BENCH_ZTUNNEL2_ENV:-}), HBONE (pclient -> pserver)"
             for other in $SCENARIOS; do
               case $other in direct|stunnel|haproxy)
                 echo "ztunnel2 enrolls the peer pods, whose traffic $other measures: run it as BENCH_SCENARIOS=\"ztunnel ztunnel2\""; exit 2 ;;
               esac
             done
             start_ztunnel ztunnel2 "$BIN2" "${BENCH_ZTUNNEL2_ENV:-}" pclient "$PEER_CLIENT_IP" pserver "$PEER_SERVER_IP" 100
             add_scenario ztunnel2 pclient pserver "$PEER_SERVER_IP" "$IPERF_PORT" "$ECHO_PORT" ;;
    *) echo "unknown scenario '$scenario' in BENCH_SCENARIOS (direct stunnel haproxy ztunnel ztunnel2 floor)"; exit 2 ;;
  esac
  ORDER+=("$scenario")
done
[ ${#ORDER[@]} -gt 0 ] || { echo "BENCH_SCENARIOS selects no scenario (direct stunnel haproxy ztunnel floor)"; exit 2; }
[ "$ROUNDS" -ge 1 ] || { echo "BENCH_ROUNDS must be 1 or more, not '$ROUNDS'"; exit 2; }

# The RSS of every scenario's proxies (the direct path has none), recorded as <key>.
record_rss_of_all() { # key
  local scenario
  for scenario in "${ORDER[@]}"; do
    use_scenario "$scenario"
    if [ ${#PROXIES[@]} -gt 0 ]; then record_rss "$scenario" "$1"; fi
  done
}

say "Memory at start, then warm-up of every scenario"
record_rss_of_all rss_start
for scenario in "${ORDER[@]}"; do
  use_scenario "$scenario"
  note "$scenario: warm-up"
  warm_up
done
for scenario in ztunnel ztunnel2; do
  if [ -n "${S_PIDS[$scenario]+set}" ]; then
    use_scenario "$scenario"
    settle_jit "$scenario" "$TARGET_IP" "$TARGET_IPORT" "$TARGET_EPORT"
  fi
done

# Rounds: round r starts at scenario r mod n, so none is always first (or always right after another).
for r in $(seq "$ROUNDS"); do
  n=${#ORDER[@]}
  round_order=()
  for i in $(seq 0 $((n - 1))); do round_order+=("${ORDER[$(((r - 1 + i) % n))]}"); done
  say "Round $r/$ROUNDS: ${round_order[*]}"
  echo "meta order@$r $(IFS=,; echo "${round_order[*]}")" >> "$RESULTS"
  ROUND=$r
  for scenario in "${round_order[@]}"; do
    use_scenario "$scenario"
    measure_round "$scenario"
  done
  ROUND=""
done

# Memory: idle (after the traffic above has settled), then with $HOLD idle connections held open, one
# scenario after the other. 3 s: Ztunnel gives back what a burst left behind within about a second of
# going quiet (Daemon/MemoryTrimmer.cs); the other proxies' RSS does not move between 1 and 3 s of idle.
say "Memory: idle, then $HOLD connections held through each scenario"
sleep 3
record_rss_of_all rss_idle
for scenario in "${ORDER[@]}"; do
  use_scenario "$scenario"
  measure_held "$scenario"
done

say "Results"
echo "meta elapsed_s $SECONDS" >> "$RESULTS"
cp "$RESULTS" "$OUT/raw.txt"
/usr/bin/python3 scripts/bench/report.py "$RESULTS" "$OUT/results.csv" | tee "$OUT/table.txt"
echo
echo "Raw samples: $OUT/raw.txt; CSV: $OUT/results.csv; logs of every process: $OUT/*.log"
