# Sourced by bench.sh: the network namespaces (scripts/lib/topology.sh, as the demo builds them).
#   client pod  10.10.1.10 --+                                                        +-- server pod  10.10.2.20
#                            br0 10.10.1.1 [node A] 10.10.0.1 == 10.10.0.2 [node B] br0 10.10.2.1
#   pclient pod 10.10.1.11 --+                                                        +-- pserver pod 10.10.2.21
# Ztunnel captures all TCP of the pods it enrolls (client, server), so the other scenarios (direct,
# stunnel, haproxy) use a second pair of pods (pclient, pserver: "peer" pods) that is never enrolled, so all the
# proxies can run at once. (Short names: the node's end of a pod's veth is called $P-<pod>, 15 bytes at most.)

# Many short connections (the connection-rate test) leave TIME_WAIT sockets; let them be reused and give
# every namespace a wide port range, so neither the proxies nor the client run out of ports. Ztunnel's
# own ports (15000-15021) stay reserved: a TIME_WAIT socket on 15006 would keep the daemon from listening.
tune_ns() {
  in_ns "$1" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.ip_local_reserved_ports=15000-15021 \
    net.ipv4.tcp_tw_reuse=1 net.core.somaxconn=8192
}

# shellcheck source=scripts/lib/topology.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/topology.sh"

build_topology() {
  create_nodes
  tune_ns node-a; tune_ns node-b
  add_pod a client "$CLIENT_IP"; tune_ns client
  add_pod b server "$SERVER_IP"; tune_ns server
  add_pod a pclient "$PEER_CLIENT_IP"; tune_ns pclient
  add_pod b pserver "$PEER_SERVER_IP"; tune_ns pserver
  if [[ " $SCENARIOS " == *" floor "* ]]; then
    add_pod a fclient "$FLOOR_CLIENT_IP"; tune_ns fclient
    add_pod b fserver "$FLOOR_SERVER_IP"; tune_ns fserver
  fi
}
