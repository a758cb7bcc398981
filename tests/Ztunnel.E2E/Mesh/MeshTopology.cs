using System.Net;
using System.Security.Cryptography;

namespace Ztunnel.E2E.Mesh;

/// <summary>
/// Two nodes and their pods as real network namespaces, wired like a small cluster (scripts/demo.sh in C#):
/// each node netns has a bridge <c>br0</c> at 10.250.S.1/24 and fd00:250:S::1/64 (S = 1 for node a, 2 for
/// node b) and the two nodes are joined by a veth pair (10.250.0.1/fd00:250::1 and 10.250.0.2/fd00:250::2)
/// with routes to the other node's pod subnets. A pod is a netns whose <c>eth0</c> is a veth to its node's
/// bridge, at 10.250.S.H/24 and fd00:250:S::H/64 (dual stack), with default routes via the node. Every link is created inside the namespaces, so nothing touches the host's network and
/// two topologies (with the same addresses) can exist side by side. Names are <c>PREFIX-RANDOM-a</c>,
/// <c>PREFIX-RANDOM-a-NAME</c>. Dispose deletes every namespace, killing what still runs inside them.
/// </summary>
public sealed class MeshTopology : IAsyncDisposable
{
    /// <summary>The interface of node a on the node-to-node link (the other end, in node b, is <c>to-a</c>).</summary>
    public const string LinkAToB = "to-b";

    private readonly List<string> _namespaces = [];

    private MeshTopology(string prefix)
    {
        Id = $"{prefix}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
        A = new TestNamespace($"{Id}-a", IPAddress.Parse("10.250.0.1"), IPAddress.Parse("fd00:250::1"));
        B = new TestNamespace($"{Id}-b", IPAddress.Parse("10.250.0.2"), IPAddress.Parse("fd00:250::2"));
    }

    /// <summary>Unique per topology; prefixes every namespace name.</summary>
    public string Id { get; }

    /// <summary>Node a's netns; its address is its end of the node-to-node link.</summary>
    public TestNamespace A { get; }

    public TestNamespace B { get; }

    public static IPAddress PodAddress(char node, int host) => IPAddress.Parse($"10.250.{Subnet(node)}.{host}");

    public static IPAddress PodAddress6(char node, int host) => IPAddress.Parse($"fd00:250:{Subnet(node)}::{host}");

    public TestNamespace Node(char node) => node == 'a' ? A : B;

    /// <summary>Creates both nodes and the link between them, or cleans up and throws.</summary>
    public static async Task<MeshTopology> CreateAsync(string prefix)
    {
        var topology = new MeshTopology(prefix);
        try
        {
            await topology.CreateNodeAsync(topology.A, 'a');
            await topology.CreateNodeAsync(topology.B, 'b');
            await Ip("-n", topology.A.Name, "link", "add", LinkAToB, "type", "veth", "peer", "name", "to-a", "netns", topology.B.Name);
            await Ip("-n", topology.A.Name, "addr", "add", $"{topology.A.Address}/24", "dev", LinkAToB);
            await Ip("-n", topology.B.Name, "addr", "add", $"{topology.B.Address}/24", "dev", "to-a");
            // nodad: usable at once instead of "tentative" for a second or two.
            await Ip("-n", topology.A.Name, "addr", "add", $"{topology.A.Address6}/64", "dev", LinkAToB, "nodad");
            await Ip("-n", topology.B.Name, "addr", "add", $"{topology.B.Address6}/64", "dev", "to-a", "nodad");
            await Ip("-n", topology.A.Name, "link", "set", LinkAToB, "up");
            await Ip("-n", topology.B.Name, "link", "set", "to-a", "up");
            await Ip("-n", topology.A.Name, "route", "add", "10.250.2.0/24", "via", topology.B.Address.ToString());
            await Ip("-n", topology.B.Name, "route", "add", "10.250.1.0/24", "via", topology.A.Address.ToString());
            await Ip("-n", topology.A.Name, "-6", "route", "add", "fd00:250:2::/64", "via", topology.B.Address6.ToString());
            await Ip("-n", topology.B.Name, "-6", "route", "add", "fd00:250:1::/64", "via", topology.A.Address6.ToString());
            return topology;
        }
        catch
        {
            await topology.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Adds a pod netns on <paramref name="node"/> ('a' or 'b') at 10.250.S.H and fd00:250:S::H. The IPv6
    /// address is usable at once, unless <paramref name="slowDad"/>: then it stays tentative (duplicate
    /// address detection, as on a real node) for several seconds.
    /// </summary>
    public async Task<TestNamespace> AddPodAsync(char node, string name, int host, bool slowDad = false)
    {
        TestNamespace nodeNs = Node(node);
        var pod = new TestNamespace($"{nodeNs.Name}-{name}", PodAddress(node, host), PodAddress6(node, host));
        await Ip("netns", "add", pod.Name);
        _namespaces.Add(pod.Name);
        string nodeSide = $"v{host}"; // unique within the node netns, far below the 15-character limit
        await Ip("-n", nodeNs.Name, "link", "add", nodeSide, "type", "veth", "peer", "name", "eth0", "netns", pod.Name);
        await Ip("-n", nodeNs.Name, "link", "set", nodeSide, "master", "br0", "up");
        await Ip("-n", pod.Name, "link", "set", "lo", "up");
        await Ip("-n", pod.Name, "addr", "add", $"{pod.Address}/24", "dev", "eth0");
        if (slowDad)
        {
            // DAD waits retrans_time after its probe; the default second is too short to act in reliably.
            await TestTopology.ExecAsync(pod, "sysctl", "-qw", "net.ipv6.neigh.eth0.retrans_time_ms=4000");
            await Ip("-n", pod.Name, "addr", "add", $"{pod.Address6}/64", "dev", "eth0");
        }
        else
        {
            await Ip("-n", pod.Name, "addr", "add", $"{pod.Address6}/64", "dev", "eth0", "nodad");
        }
        await Ip("-n", pod.Name, "link", "set", "eth0", "up");
        await Ip("-n", pod.Name, "route", "add", "default", "via", Gateway(node).ToString());
        await Ip("-n", pod.Name, "-6", "route", "add", "default", "via", Gateway6(node).ToString());
        return pod;
    }

    public async ValueTask DisposeAsync()
    {
        // Pods first, nodes last (the reverse of creation); one failing must not keep the others around.
        for (int i = _namespaces.Count - 1; i >= 0; i--)
        {
            await DeleteAsync(_namespaces[i]);
        }
        _namespaces.Clear();
    }

    private static IPAddress Gateway(char node) => IPAddress.Parse($"10.250.{Subnet(node)}.1");

    private static IPAddress Gateway6(char node) => IPAddress.Parse($"fd00:250:{Subnet(node)}::1");

    private static int Subnet(char node) => node switch
    {
        'a' => 1,
        'b' => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(node), node, "nodes are 'a' and 'b'"),
    };

    private async Task CreateNodeAsync(TestNamespace node, char letter)
    {
        await Ip("netns", "add", node.Name);
        _namespaces.Add(node.Name);
        await Ip("-n", node.Name, "link", "set", "lo", "up");
        await Ip("-n", node.Name, "link", "add", "br0", "type", "bridge");
        await Ip("-n", node.Name, "addr", "add", $"{Gateway(letter)}/24", "dev", "br0");
        await Ip("-n", node.Name, "addr", "add", $"{Gateway6(letter)}/64", "dev", "br0", "nodad");
        await Ip("-n", node.Name, "link", "set", "br0", "up");
        await TestTopology.ExecAsync(node, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1");
    }

    private static Task<string> Ip(params string[] arguments) => ProcessRunner.CheckedAsync("ip", arguments);

    private static async Task DeleteAsync(string name)
    {
        try
        {
            // Whatever still runs inside (a daemon that would not die, tcpdump) goes first.
            (int exitCode, string pids, _) = await ProcessRunner.RunAsync("ip", "netns", "pids", name);
            if (exitCode == 0)
            {
                foreach (string pid in pids.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    await ProcessRunner.RunAsync("kill", "-KILL", pid);
                }
            }
            await ProcessRunner.RunAsync("ip", "netns", "del", name);
        }
        catch (Exception)
        {
            // Best effort: keep deleting the rest.
        }
    }
}
