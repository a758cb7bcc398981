# Sourced by bench.sh: certificates and the proxy pairs. Each start_* function leaves the pids of the two
# proxy processes (node A, node B) in PROXIES and returns when both listen. stunnel and haproxy listen on
# node A's pod gateway on their own ports ($PEER_*_PORT) and forward from node B to the pserver pod, which
# Ztunnel never captures; Ztunnel serves the client and server pods. All pairs run at the same time.
#
# Fairness: every pair runs TLS 1.3 only with TLS_AES_128_GCM_SHA256 (the suite Ztunnel negotiates),
# ECDSA P-256 certificates from one CA, mutual verification on the node-to-node hop, TCP_NODELAY on
# every socket, per-connection logging off, and both processes pinned to $PROXY_CPUS. Each tool keeps
# its own defaults otherwise (stunnel: a thread per connection and TLS session resumption; haproxy:
# one event-loop thread, `nbthread 1`, and session reuse to its server; Ztunnel: its thread pool).

SUITE=TLS_AES_128_GCM_SHA256

mint_certificates() {
  local node ip
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$RUN/ca.key" -out "$RUN/ca.pem" \
    -subj "/CN=ztunnel-bench-ca" -days 2 2>/dev/null
  for node in a b; do
    ip=10.10.0.$([ $node = a ] && echo 1 || echo 2)
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$RUN/node-$node.key" -out "$RUN/node-$node.csr" \
      -subj "/CN=node-$node" 2>/dev/null
    printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n' "$ip" > "$RUN/node-$node.ext"
    openssl x509 -req -in "$RUN/node-$node.csr" -CA "$RUN/ca.pem" -CAkey "$RUN/ca.key" -CAcreateserial -days 2 \
      -extfile "$RUN/node-$node.ext" -out "$RUN/node-$node.pem" 2>/dev/null
    cat "$RUN/node-$node.pem" "$RUN/node-$node.key" > "$RUN/node-$node.bundle.pem"   # haproxy wants both in one file
  done
}

start_stunnel() {
  local node
  for node in a b; do
    {
      echo "foreground = yes"; echo "pid ="; echo "syslog = no"; echo "output = $OUT/stunnel-$node.log"
      echo "debug = 3"   # errors only: no line per connection
      echo "socket = l:TCP_NODELAY=1"; echo "socket = r:TCP_NODELAY=1"
      echo "sslVersionMin = TLSv1.3"; echo "ciphersuites = $SUITE"
      echo "cert = $RUN/node-$node.pem"; echo "key = $RUN/node-$node.key"; echo "CAfile = $RUN/ca.pem"
      echo "verifyChain = yes"
      if [ $node = a ]; then
        echo "client = yes"
        printf '[iperf]\naccept = %s:%s\nconnect = %s:%s\n' "$NODE_A_POD_GW" "$PEER_IPERF_PORT" "$NODE_B_LINK" "$PEER_IPERF_PORT"
        printf '[echo]\naccept = %s:%s\nconnect = %s:%s\n' "$NODE_A_POD_GW" "$PEER_ECHO_PORT" "$NODE_B_LINK" "$PEER_ECHO_PORT"
      else
        echo "requireCert = yes"
        printf '[iperf]\naccept = %s:%s\nconnect = %s:%s\n' "$NODE_B_LINK" "$PEER_IPERF_PORT" "$PEER_SERVER_IP" "$IPERF_PORT"
        printf '[echo]\naccept = %s:%s\nconnect = %s:%s\n' "$NODE_B_LINK" "$PEER_ECHO_PORT" "$PEER_SERVER_IP" "$ECHO_PORT"
      fi
    } > "$RUN/stunnel-$node.conf"
    cp "$RUN/stunnel-$node.conf" "$OUT/stunnel-$node.conf"
    ip netns exec "$P-node-$node" taskset -c "$PROXY_CPUS" stunnel4 "$RUN/stunnel-$node.conf" > "$OUT/stunnel-$node.stderr" 2>&1 &
    PROXIES+=($!)
  done
  wait_listen node-a "$PEER_ECHO_PORT"; wait_listen node-b "$PEER_ECHO_PORT"
}

start_haproxy() {
  local node
  for node in a b; do
    {
      printf 'global\n  nbthread 1\n  maxconn 8000\n'
      printf '  ssl-default-bind-options ssl-min-ver TLSv1.3\n  ssl-default-bind-ciphersuites %s\n' "$SUITE"
      printf '  ssl-default-server-options ssl-min-ver TLSv1.3\n  ssl-default-server-ciphersuites %s\n' "$SUITE"
      printf 'defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 10m\n  timeout server 10m\n'
      if [ $node = a ]; then
        for svc in "iperf $PEER_IPERF_PORT" "echo $PEER_ECHO_PORT"; do
          set -- $svc
          printf 'listen %s\n  bind %s:%s\n  server node-b %s:%s ssl crt %s ca-file %s verify required\n' \
            "$1" "$NODE_A_POD_GW" "$2" "$NODE_B_LINK" "$2" "$RUN/node-a.bundle.pem" "$RUN/ca.pem"
        done
      else
        for svc in "iperf $PEER_IPERF_PORT $IPERF_PORT" "echo $PEER_ECHO_PORT $ECHO_PORT"; do
          set -- $svc
          printf 'listen %s\n  bind %s:%s ssl crt %s ca-file %s verify required\n  server app %s:%s\n' \
            "$1" "$NODE_B_LINK" "$2" "$RUN/node-b.bundle.pem" "$RUN/ca.pem" "$PEER_SERVER_IP" "$3"
        done
      fi
    } > "$RUN/haproxy-$node.cfg"
    cp "$RUN/haproxy-$node.cfg" "$OUT/haproxy-$node.cfg"
    ip netns exec "$P-node-$node" taskset -c "$PROXY_CPUS" haproxy -db -f "$RUN/haproxy-$node.cfg" > "$OUT/haproxy-$node.log" 2>&1 &
    PROXIES+=($!)
  done
  wait_listen node-a "$PEER_ECHO_PORT"; wait_listen node-b "$PEER_ECHO_PORT"
}

# The capture floor: Ztunnel's in-pod rules (PodRules.BuildApply's text for a fresh pod; PodRulesTextTests fails
# if this copy drifts) in a third pod pair, with scripts/bench/floor-relay.c where the daemons would listen: the
# same legs, rules, conntrack and NAT,
# but no TLS, no HTTP/2 and next to no user space. It measures what in-pod capture costs in the kernel on
# this machine, which no daemon on this capture path can get under. Not an mTLS peer: report.py never
# compares Ztunnel with it for a target.
FLOOR_RULES='*mangle
:ZTUNNEL_PREROUTING - [0:0]
:ZTUNNEL_OUTPUT - [0:0]
-A PREROUTING -j ZTUNNEL_PREROUTING
-A OUTPUT -j ZTUNNEL_OUTPUT
-A ZTUNNEL_PREROUTING -m mark --mark 0x539/0xfff -j CONNMARK --set-xmark 0x111/0xfff
-A ZTUNNEL_PREROUTING -i lo -j RETURN
-A ZTUNNEL_PREROUTING -p tcp -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
-A ZTUNNEL_PREROUTING -p tcp -m tcp --dport 15008 -j RETURN
-A ZTUNNEL_PREROUTING -p tcp -m mark ! --mark 0x539/0xfff -m addrtype --dst-type LOCAL -j TPROXY --on-port 15006 --on-ip 0.0.0.0 --tproxy-mark 0x111/0xfff
-A ZTUNNEL_OUTPUT -m mark --mark 0x539/0xfff -j RETURN
-A ZTUNNEL_OUTPUT -m connmark --mark 0x111/0xfff -j CONNMARK --restore-mark --nfmask 0xfff --ctmask 0xfff
COMMIT
*nat
:ZTUNNEL_OUTPUT - [0:0]
-A OUTPUT -j ZTUNNEL_OUTPUT
-A ZTUNNEL_OUTPUT -o lo -j RETURN
-A ZTUNNEL_OUTPUT -p tcp -m mark ! --mark 0x539/0xfff -j REDIRECT --to-ports 15001
COMMIT'

start_floor() {
  local pod
  gcc -O2 -pthread -o "$RUN/floor-relay" scripts/bench/floor-relay.c
  for pod in fclient fserver; do
    in_ns "$pod" iptables-restore --noflush <<<"$FLOOR_RULES"
    in_ns "$pod" ip rule add fwmark 0x111/0xfff pref 32764 lookup 100
    in_ns "$pod" ip route replace local default dev lo table 100
  done
  ip netns exec "$P-fclient" taskset -c "$PROXY_CPUS" "$RUN/floor-relay" out 15001 15008 > "$OUT/floor-a.log" 2>&1 &
  PROXIES+=($!)
  ip netns exec "$P-fserver" taskset -c "$PROXY_CPUS" "$RUN/floor-relay" in 15008 > "$OUT/floor-b.log" 2>&1 &
  PROXIES+=($!)
  wait_listen fclient 15001; wait_listen fserver 15008
}

# Ztunnel as `make demo` runs it: built-in CA, one daemon per node, pods registered through the CNI plugin.
# BENCH_ZTUNNEL_ENV (e.g. "DOTNET_gcServer=1 DOTNET_GCgen0size=0x4000000") is passed to both daemons.
# The ztunnel2 scenario (an A/B run) is a second pair, BENCH_ZTUNNEL2_BIN with BENCH_ZTUNNEL2_ENV, that enrolls
# the peer pods instead and serves its metrics and admin endpoints on ports of its own (ZT_METRICS_PORT).
start_ztunnel() { # scenario binary env client-pod client-ip server-pod server-ip port-offset
  local name=$1 bin=$2 env=$3 node i sock dir
  local metrics=$((15020 + $8)) readiness=$((15021 + $8)) admin=$((15000 + $8))
  S_METRICS[$name]=$metrics   # where gc_sample and jit_seconds read this pair's counters (use_scenario)
  [ -d "$RUN/ca" ] || "$BIN" ca init "$RUN/ca" >/dev/null
  for node in a b; do
    dir=$RUN/$name-node-$node
    mkdir -p "$dir"
    cat > "$dir/config.yaml" <<YAML
nodeName: node-$node
trustDomain: cluster.local
caDir: $RUN/ca
registrationSocket: $dir/cni.sock
metricsAddress: 0.0.0.0:$metrics
readinessAddress: 0.0.0.0:$readiness
adminAddress: 127.0.0.1:$admin
logLevel: $ZT_LOGLEVEL
accessLog: "off"
workloads:
  - {uid: $4-1, name: $4, namespace: bench, serviceAccount: client, ips: [$5], node: node-a}
  - {uid: $6-1, name: $6, namespace: bench, serviceAccount: server, ips: [$7], node: node-b}
YAML
    cp "$dir/config.yaml" "$OUT/$name-$node.yaml"
    # shellcheck disable=SC2086 # word splitting of the env assignments is intended
    ip netns exec "$P-node-$node" taskset -c "$PROXY_CPUS" env $env "$bin" run --config "$dir/config.yaml" \
      > "$OUT/$name-$node.log" 2>&1 &
    PROXIES+=($!)
  done
  for node in a b; do
    sock=$RUN/$name-node-$node/cni.sock
    for i in $(seq 150); do [ -S "$sock" ] && break; sleep 0.1; done
    [ -S "$sock" ] || { echo "daemon $name on node-$node did not start:"; cat "$OUT/$name-$node.log"; exit 1; }
  done
  register "$name" a "$4" "$4-1" "$5"
  register "$name" b "$6" "$6-1" "$7"
}

# Registers a pod with its node's daemon (CNI ADD), as a container runtime would. No DEL at the end: the
# daemons are stopped with the other proxies (bench.sh cleanup), and the capture rules go with the pods.
register() { # scenario node pod uid ip
  printf '{"cniVersion":"1.0.0","name":"bench","type":"ztunnel","socketPath":"%s","prevResult":{"cniVersion":"1.0.0","ips":[{"address":"%s/24"}]}}' \
      "$RUN/$1-node-$2/cni.sock" "$5" |
    CNI_COMMAND=ADD CNI_CONTAINERID="sandbox-$4" CNI_NETNS="/var/run/netns/$P-$3" CNI_IFNAME=eth0 \
    CNI_ARGS="K8S_POD_NAMESPACE=bench;K8S_POD_NAME=$3;K8S_POD_UID=$4" "$BIN" cni >/dev/null ||
    { echo "registering $3 with the $1 daemon on node-$2 failed"; exit 1; }
}
