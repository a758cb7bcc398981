# Sourced by bench.sh: the measurements of the current scenario (use_scenario), recorded as
# "<scenario> <key> <value>" lines; during the rounds the key carries the round, "<key>@<round>".
# The load generators run in the scenario's client pod ($CLIENT_NS) on $APP_CPUS; proxy CPU and memory
# are read from /proc of the scenario's processes in PROXIES (CPU: utime+stime deltas; memory: VmRSS).

kv() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }   # value of key=value in a result line
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }

record_rss() { # scenario key-prefix
  local i=0 pid name
  proxies_alive
  for pid in "${PROXIES[@]}"; do
    name=$([ $i = 0 ] && echo a || echo b)
    record "$1" "${2}_${name}_kib" "$(rss_kib "$pid")"
    record "$1" "${2}_${name}_uss_kib" "$(awk '/^Private_(Clean|Dirty):/ {t += $2} END {print t}' "/proc/$pid/smaps_rollup")"
    # Where the memory is (largest mappings first), for the analysis of a surprising number.
    awk '/^[0-9a-f]+-[0-9a-f]+ / {f = $6 == "" ? "[anon]" : $6} /^Rss:/ {r[f] += $2} END {for (k in r) print r[k], k}' \
      "/proc/$pid/smaps" | sort -rn | awk 'NR <= 20' > "$OUT/memory-$1-$name-$2.txt"
    record "$1" "${2}_${name}_threads" "$(awk '/^Threads:/ {print $2}' "/proc/$pid/status")"
    i=$((i + 1))
  done
}

# Established connections on the hop that proves the path: app -> app (direct), node A -> node B
# (stunnel/haproxy TLS), or HBONE from the client pod to the server pod's 15008 (ztunnel).
path_connections() { # scenario
  case $1 in
    direct)  in_ns "$CLIENT_NS" ss -Htn state established dst "$PEER_SERVER_IP" dport = ":$ECHO_PORT" | wc -l ;;
    ztunnel*|floor) in_ns "$CLIENT_NS" ss -Htn state established dst "$TARGET_IP" dport = ":15008" | wc -l ;;
    *)       in_ns node-a ss -Htn state established dst "$NODE_B_LINK" dport = ":${S_EPORT[$1]}" | wc -l ;;
  esac
}

# Ztunnel only: the daemons' own GC and thread-pool counters from their /metrics (summed over both nodes),
# printed as "allocated-bytes gen0 gen1 gen2 pause-seconds pool-items". Tells where the CPU and memory of a
# phase went; pool items are hand-offs between threads (socket completions run on the epoll thread).
gc_sample() {
  local node
  for node in a b; do in_ns "node-$node" curl -s --max-time 5 "http://127.0.0.1:$ZT_METRICS_PORT/metrics" || true; done | awk '
    /^dotnet_allocated_bytes_total / { a += $2 }
    /^dotnet_collection_count_total\{generation="0"\}/ { g0 += $2 }
    /^dotnet_collection_count_total\{generation="1"\}/ { g1 += $2 }
    /^dotnet_collection_count_total\{generation="2"\}/ { g2 += $2 }
    /^dotnet_gc_pause_seconds_total / { p += $2 }
    /^dotnet_threadpool_completed_items_total / { w += $2 }
    END { printf "%.0f %d %d %d %.6f %.0f\n", a, g0, g1, g2, p, w }'
}

record_gc() { # scenario phase before after alloc-divisor gc-divisor pool-divisor
  local -a b=($3) a=($4)
  record "$1" "pool_$2" "$(calc "(${a[5]} - ${b[5]}) / ($7)" 2)"
  record "$1" "alloc_$2" "$(calc "(${a[0]} - ${b[0]}) / ($5)" 1)"
  record "$1" "gcs_$2" "$(calc "(${a[1]} - ${b[1]} + ${a[2]} - ${b[2]} + ${a[3]} - ${b[3]}) / ($6)" 2)"
  record "$1" "gc2_$2" "$((a[3] - b[3]))"
  record "$1" "gcpause_ms_$2" "$(calc "(${a[4]} - ${b[4]}) * 1000" 1)"
}

# iperf3 -s serves one test at a time and turns away a client that arrives while the last test's
# connections are still closing (that client sees a reset): start a test once the server pod has none.
# (The pserver pod's iperf3 serves three scenarios, one after the other.)
iperf_client() { # ip port timeout iperf3-args...
  local i
  for i in $(seq 50); do
    [ "$(in_ns "$SERVER_NS" ss -Htn state established state close-wait state fin-wait-1 state fin-wait-2 \
      state last-ack "( sport = :$IPERF_PORT )" | wc -l)" = 0 ] && break
    sleep 0.1
  done
  in_ns "$CLIENT_NS" taskset -c "$APP_CPUS" timeout "$3" iperf3 -c "$1" -p "$2" "${@:4}"
}

warm_up_round() { # ip iperf-port echo-port seconds
  in_ns "$CLIENT_NS" taskset -c "$APP_CPUS" timeout 60 "$LOADGEN" rr --target "$1:$3" --duration 1 --warmup 0 >/dev/null
  iperf_client "$1" "$2" 60 -t "$4" -P 4 >/dev/null
  iperf_client "$1" "$2" 60 -t 1 -P 1 >/dev/null
  in_ns "$CLIENT_NS" taskset -c "$APP_CPUS" timeout 60 "$LOADGEN" connrate --target "$1:$3" --duration "$4" \
    --warmup 0 --concurrency "$CONCURRENCY" >/dev/null
}

# Seconds both daemons have spent in the JIT since they started (their own dotnet_jit_compilation_seconds_total).
jit_seconds() {
  local node
  for node in a b; do in_ns "node-$node" curl -s --max-time 5 "http://127.0.0.1:$ZT_METRICS_PORT/metrics" || true; done |
    awk '/^dotnet_jit_compilation_seconds_total / { t += $2 } END { printf "%.3f\n", t }'
}

# More 2 s warm-up rounds until one of them costs the daemons less than $JIT_QUIET_MS of JIT time in total,
# at most $JIT_MAX_ROUNDS. Records the rounds taken and the JIT time of the last one.
settle_jit() { # scenario ip iperf-port echo-port
  local round=0 j0 j1 ms=-1
  while [ "$round" -lt "$JIT_MAX_ROUNDS" ]; do
    round=$((round + 1))
    j0=$(jit_seconds)
    warm_up_round "$2" "$3" "$4" 2
    j1=$(jit_seconds)
    ms=$(calc "($j1 - $j0) * 1000" 0)
    [ "$ms" -lt "$JIT_QUIET_MS" ] && break
  done
  record "$1" warmup_jit_rounds "$round"; record "$1" warmup_jit_last_ms "$ms"
  note "warm-up: $round more round(s) until the JIT went quiet (last round: $ms ms of JIT time, both daemons)"
}

# Warm-up, not recorded: the first connections through every hop (certificates, pools), and traffic of
# each kind. The numbers are those of a long-running daemon, not of its first seconds: every scenario
# gets the same first round; Ztunnel, JIT-compiled, then gets more rounds until its JIT has gone quiet
# (the C peers are compiled ahead of time). Measured: with 3 s of warm-up the JIT was still recompiling
# hot code during the 1-stream measurement, 10% of the proxy CPU, and throughput read 10-15% low.
warm_up() {
  warm_up_round "$TARGET_IP" "$TARGET_IPORT" "$TARGET_EPORT" "$WARMUP"
}

# The machine's speed just before or after a scenario's measurements: fixed work (AES-GCM records, loopback
# round trips; ztunnel-loadgen check) timed on the proxies' CPU. report.py warns when it was slow at some
# point of the run, which the other-load counter cannot see (a host neighbour, frequency, cache pressure).
machine_check() { # scenario before|after
  local out
  out=$(in_ns node-a taskset -c "$PROXY_CPUS" timeout 30 "$LOADGEN" check) || { echo "ztunnel-loadgen check failed: $out"; exit 1; }
  record "$1" "check_seal_us_$2" "$(kv seal16k_us "$out")"
  record "$1" "check_rtt_us_$2" "$(kv loopback_rtt_us "$out")"
}

# One round of the timed measurements of the current scenario: throughput with 1 and 4 streams, 64 B
# request/response, connection rate, each with the proxies' CPU, context switches and (Ztunnel) GC
# counters over it. The caller sets ROUND, so every key is recorded as <key>@<round>.
measure_round() { # scenario
  local s=$1 ip=$TARGET_IP iport=$TARGET_IPORT eport=$TARGET_EPORT
  local f0 w0 c0 c1 json streams bytes total_bytes=0 total_ticks=0 out
  machine_check "$s" before
  f0=$(foreign_ticks); w0=$(now_s)
  local gc0="" gc1
  [[ $s == ztunnel* ]] && gc0=$(gc_sample)
  local x0=0 x1=0
  # Not for stunnel or the floor: the counts of their per-connection threads vanish when they exit.
  local count_ctxsw=false
  [ ${#PROXIES[@]} -gt 0 ] && [ "$s" != stunnel ] && [ "$s" != floor ] && count_ctxsw=true
  $count_ctxsw && x0=$(proxies_ctxsw)
  for streams in 1 4; do
    c0=$(proxies_ticks)
    json=$(iperf_client "$ip" "$iport" $((DURATION + 30)) -t "$DURATION" -P "$streams" -J) ||
      { echo "iperf3 -P $streams failed in scenario $s:"; echo "$json" | jq -r '.error // .' | head -5; exit 1; }
    c1=$(proxies_ticks)
    bytes=$(jq '.end.sum_received.bytes' <<<"$json")
    record "$s" "tput${streams}_gbps" "$(calc "$(jq '.end.sum_received.bits_per_second' <<<"$json") / 1e9" 3)"
    total_bytes=$((total_bytes + bytes)); total_ticks=$((total_ticks + c1 - c0))
    note "$s: iperf3 $streams stream(s): $(calc "$(jq '.end.sum_received.bits_per_second' <<<"$json") / 1e9" 2) Gbit/s"
  done
  # Allocated MiB and collections per GB relayed.
  [ -n "$gc0" ] && { gc1=$(gc_sample); record_gc "$s" per_gb "$gc0" "$gc1" "1048576 * $total_bytes / 1e9" "$total_bytes / 1e9" "$total_bytes / 1e9"; }
  $count_ctxsw && { x1=$(proxies_ctxsw); record "$s" ctxsw_per_mb "$(calc "($x1 - $x0) / ($total_bytes / 1048576)" 2)"; }
  [ ${#PROXIES[@]} -gt 0 ] && record "$s" cpu_s_per_gb "$(calc "$total_ticks / $CLK_TCK / ($total_bytes / 1e9)" 3)"

  c0=$(proxies_ticks)
  $count_ctxsw && x0=$(proxies_ctxsw)
  [[ $s == ztunnel* ]] && gc0=$(gc_sample)
  out=$(in_ns "$CLIENT_NS" taskset -c "$APP_CPUS" timeout $((DURATION + 30)) "$LOADGEN" rr --target "$ip:$eport" --size 64 --duration "$DURATION")
  record "$s" rr_p50_us "$(kv p50_us "$out")"; record "$s" rr_p99_us "$(kv p99_us "$out")"
  c1=$(proxies_ticks)
  [ ${#PROXIES[@]} -gt 0 ] && record "$s" cpu_us_per_rt "$(calc "($c1 - $c0) * 1e6 / $CLK_TCK / $(kv count "$out")" 1)"
  $count_ctxsw && { x1=$(proxies_ctxsw); record "$s" ctxsw_per_rt "$(calc "($x1 - $x0) / $(kv count "$out")" 2)"; }
  [ -n "$gc0" ] && { gc1=$(gc_sample); record_gc "$s" per_rt "$gc0" "$gc1" "1024 * $(kv count "$out")" "$(kv count "$out") / 1000" "$(kv count "$out")"; }
  note "$s: request/response 64 B: $out"

  c0=$(proxies_ticks)
  $count_ctxsw && x0=$(proxies_ctxsw)
  [[ $s == ztunnel* ]] && gc0=$(gc_sample)
  out=$(in_ns "$CLIENT_NS" taskset -c "$APP_CPUS" timeout $((DURATION + 30)) "$LOADGEN" connrate --target "$ip:$eport" --size 64 \
    --duration "$DURATION" --concurrency "$CONCURRENCY")
  c1=$(proxies_ticks)
  $count_ctxsw && { x1=$(proxies_ctxsw); record "$s" ctxsw_per_conn "$(calc "($x1 - $x0) / $(kv count "$out")" 1)"; }
  record "$s" conn_rate "$(kv rate "$out")"; record "$s" conn_p50_us "$(kv p50_us "$out")"
  record "$s" conn_p99_us "$(kv p99_us "$out")"; record "$s" conn_errors "$(kv errors "$out")"
  [ ${#PROXIES[@]} -gt 0 ] && record "$s" cpu_us_per_conn "$(calc "($c1 - $c0) * 1e6 / $CLK_TCK / $(kv count "$out")" 1)"
  # Allocated KiB and collections per 1000 new connections.
  [ -n "$gc0" ] && { gc1=$(gc_sample); record_gc "$s" per_conn "$gc0" "$gc1" "1024 * $(kv count "$out")" "$(kv count "$out") / 1000" "$(kv count "$out")"; }
  note "$s: connection rate ($CONCURRENCY threads): $out"

  record "$s" foreign_pct "$(calc "100 * ($(foreign_ticks) - $f0) / $CLK_TCK / ($(now_s) - $w0)" 0)"
  record "$s" loadavg "$(cut -d' ' -f1 /proc/loadavg)"
  machine_check "$s" after
}

# Memory with $HOLD idle connections held open through the current scenario, then released. rss_idle
# (taken before, for every scenario) is the baseline.
measure_held() { # scenario
  local s=$1 i held_line holder
  rm -f "$RUN/hold.in"; mkfifo "$RUN/hold.in"
  ip netns exec "$P-$CLIENT_NS" taskset -c "$APP_CPUS" "$LOADGEN" hold --target "$TARGET_IP:$TARGET_EPORT" --count "$HOLD" \
    < "$RUN/hold.in" > "$RUN/hold.out" 2>&1 &
  holder=$!
  exec 9> "$RUN/hold.in"
  for i in $(seq 1200); do grep -q 'held=' "$RUN/hold.out" && break; kill -0 "$holder" 2>/dev/null || break; sleep 0.1; done
  held_line=$(cat "$RUN/hold.out")
  sleep 3   # let the proxies finish whatever the last connections started, and settle as for rss_idle
  record "$s" held "$(kv held "$held_line")"; record "$s" hold_errors "$(kv errors "$held_line")"
  record "$s" path_conns "$(path_connections "$s")"
  [ ${#PROXIES[@]} -gt 0 ] && record_rss "$s" rss_held
  note "$s: held: $held_line; $(path_connections "$s") connection(s) on the path-proving hop"
  exec 9>&-
  wait "$holder" || true
}
