# Sourced by scripts/demo.sh and scripts/bench/topology.sh: two "nodes" and their "pods" as network
# namespaces on this machine, every name prefixed with $P. The addresses exist only inside them.
#   pod -- br0 10.10.1.1 [node-a] 10.10.0.1 ==veth== 10.10.0.2 [node-b] br0 10.10.2.1 -- pod

# The two node namespaces, the link between them, a bridge per node for its pods, routes, forwarding.
create_nodes() {
  local node ns subnet other
  ip netns add "$P-node-a"; ip netns add "$P-node-b"
  ip link add "$P-ab" netns "$P-node-a" type veth peer name "$P-ba" netns "$P-node-b"
  ip -n "$P-node-a" addr add 10.10.0.1/24 dev "$P-ab"; ip -n "$P-node-b" addr add 10.10.0.2/24 dev "$P-ba"
  for node in a b; do
    ns="$P-node-$node"; subnet=$([ $node = a ] && echo 1 || echo 2); other=$([ $node = a ] && echo 2 || echo 1)
    ip -n "$ns" link set lo up; ip -n "$ns" link set "$P-$node$([ $node = a ] && echo b || echo a)" up
    ip -n "$ns" link add br0 type bridge; ip -n "$ns" addr add "10.10.$subnet.1/24" dev br0; ip -n "$ns" link set br0 up
    ip -n "$ns" route add "10.10.$other.0/24" via "10.10.0.$other"
    ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
  done
}

# A pod namespace on a node's bridge: eth0 with IP/24, default route via the node (x.y.z.1).
add_pod() { # node name ip
  local node=$1 name=$2 ip=$3 gw=${3%.*}.1
  ip netns add "$P-$name"
  ip link add "$P-$name" netns "$P-node-$node" type veth peer name eth0 netns "$P-$name"
  ip -n "$P-node-$node" link set "$P-$name" master br0 up
  ip -n "$P-$name" link set lo up; ip -n "$P-$name" addr add "$ip/24" dev eth0; ip -n "$P-$name" link set eth0 up
  ip -n "$P-$name" route add default via "$gw"
}
