# Sourced by bench.sh: the network namespaces, as scripts/demo.sh builds them.
#   client pod 10.10.1.10 -- br0 10.10.1.1 [node A] 10.10.0.1 == 10.10.0.2 [node B] br0 10.10.2.1 -- server pod 10.10.2.20

# Many short connections (the connection-rate test) leave TIME_WAIT sockets; let them be reused and give
# every namespace a wide port range, so neither the proxies nor the client run out of ports. Ztunnel's
# own ports (15000-15021) stay reserved: a TIME_WAIT socket on 15006 would keep the daemon from listening.
tune_ns() {
  in_ns "$1" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.ip_local_reserved_ports=15000-15021 \
    net.ipv4.tcp_tw_reuse=1 net.core.somaxconn=8192
}

build_topology() {
  local node subnet other ns
  ip netns add "$P-node-a"; ip netns add "$P-node-b"
  ip link add "$P-ab" netns "$P-node-a" type veth peer name "$P-ba" netns "$P-node-b"
  ip -n "$P-node-a" addr add 10.10.0.1/24 dev "$P-ab"; ip -n "$P-node-b" addr add 10.10.0.2/24 dev "$P-ba"
  for node in a b; do
    ns="$P-node-$node"; subnet=$([ $node = a ] && echo 1 || echo 2); other=$([ $node = a ] && echo 2 || echo 1)
    ip -n "$ns" link set lo up; ip -n "$ns" link set "$P-$node$([ $node = a ] && echo b || echo a)" up
    ip -n "$ns" link add br0 type bridge; ip -n "$ns" addr add "10.10.$subnet.1/24" dev br0; ip -n "$ns" link set br0 up
    ip -n "$ns" route add "10.10.$other.0/24" via "10.10.0.$other"
    ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
    tune_ns "node-$node"
  done
  add_pod a client "$CLIENT_IP"
  add_pod b server "$SERVER_IP"
}

add_pod() { # node name ip
  local node=$1 name=$2 ip=$3 gw=${3%.*}.1
  ip netns add "$P-$name"
  ip link add "$P-$name" netns "$P-node-$node" type veth peer name eth0 netns "$P-$name"
  ip -n "$P-node-$node" link set "$P-$name" master br0 up
  ip -n "$P-$name" link set lo up; ip -n "$P-$name" addr add "$ip/24" dev eth0; ip -n "$P-$name" link set eth0 up
  ip -n "$P-$name" route add default via "$gw"
  tune_ns "$name"
}
