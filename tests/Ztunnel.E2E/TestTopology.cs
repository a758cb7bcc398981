using System.Net;
using System.Security.Cryptography;

namespace Ztunnel.E2E;

/// <summary>
/// A node and its pods as real network namespaces: a "node" netns with a bridge <c>br0</c> at
/// 10.248.S.1/24 and fd00:248:S::1/64, and per pod a netns whose <c>eth0</c> (a veth to the bridge) has
/// 10.248.S.(10+i)/24 and fd00:248:S::(10+i)/64 with default routes via the node. Every interface is created inside the namespaces, so nothing touches the
/// host's network; Dispose deletes the namespaces (and with them everything in them), also after a failure.
/// Names are <c>PREFIX-RANDOM-node</c> / <c>PREFIX-RANDOM-podN</c>; give your helper's prefix.
/// </summary>
public sealed class TestTopology : IDisposable
{
    private readonly List<TestNamespace> _pods = [];
    private readonly string _id;
    private readonly byte _subnet;
    private bool _nodeCreated;

    private TestTopology(string prefix, byte subnet)
    {
        _id = $"{prefix}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
        _subnet = subnet;
        Node = new TestNamespace($"{_id}-node", IPAddress.Parse($"10.248.{subnet}.1"), IPAddress.Parse($"fd00:248:{subnet}::1"));
    }

    public TestNamespace Node { get; }

    public IReadOnlyList<TestNamespace> Pods => _pods;

    /// <summary>Creates the node namespace and <paramref name="pods"/> pods, or cleans up and throws.</summary>
    public static async Task<TestTopology> CreateAsync(string prefix, int pods = 1, byte subnet = 1)
    {
        var topology = new TestTopology(prefix, subnet);
        try
        {
            await topology.CreateNodeAsync();
            for (int i = 0; i < pods; i++)
            {
                await topology.AddPodAsync();
            }
            return topology;
        }
        catch
        {
            topology.Dispose();
            throw;
        }
    }

    /// <summary>Adds a pod namespace wired to the node bridge.</summary>
    public async Task<TestNamespace> AddPodAsync()
    {
        int index = _pods.Count;
        var pod = new TestNamespace($"{_id}-pod{index}", IPAddress.Parse($"10.248.{_subnet}.{10 + index}"), IPAddress.Parse($"fd00:248:{_subnet}::{10 + index}"));
        await ProcessRunner.CheckedAsync("ip", "netns", "add", pod.Name);
        _pods.Add(pod);
        string hostSide = $"vpod{index}";
        await ProcessRunner.CheckedAsync("ip", "-n", Node.Name, "link", "add", hostSide, "type", "veth", "peer", "name", "eth0", "netns", pod.Name);
        await ProcessRunner.CheckedAsync("ip", "-n", Node.Name, "link", "set", hostSide, "master", "br0", "up");
        await ProcessRunner.CheckedAsync("ip", "-n", pod.Name, "link", "set", "lo", "up");
        await ProcessRunner.CheckedAsync("ip", "-n", pod.Name, "addr", "add", $"{pod.Address}/24", "dev", "eth0");
        // nodad: the address is usable at once instead of "tentative" for a second or two.
        await ProcessRunner.CheckedAsync("ip", "-n", pod.Name, "addr", "add", $"{pod.Address6}/64", "dev", "eth0", "nodad");
        await ProcessRunner.CheckedAsync("ip", "-n", pod.Name, "link", "set", "eth0", "up");
        await ProcessRunner.CheckedAsync("ip", "-n", pod.Name, "route", "add", "default", "via", Node.Address.ToString());
        await ProcessRunner.CheckedAsync("ip", "-n", pod.Name, "-6", "route", "add", "default", "via", Node.Address6.ToString());
        return pod;
    }

    /// <summary>Runs a command inside the namespace (<c>ip netns exec</c>) and returns its stdout; throws with stderr on failure.</summary>
    public static Task<string> ExecAsync(TestNamespace ns, params string[] command) =>
        ProcessRunner.CheckedAsync("ip", ["netns", "exec", ns.Name, .. command]);

    public void Dispose()
    {
        foreach (TestNamespace pod in _pods)
        {
            Delete(pod.Name);
        }
        _pods.Clear();
        if (_nodeCreated)
        {
            Delete(Node.Name);
            _nodeCreated = false;
        }
    }

    private async Task CreateNodeAsync()
    {
        await ProcessRunner.CheckedAsync("ip", "netns", "add", Node.Name);
        _nodeCreated = true;
        await ProcessRunner.CheckedAsync("ip", "-n", Node.Name, "link", "set", "lo", "up");
        await ProcessRunner.CheckedAsync("ip", "-n", Node.Name, "link", "add", "br0", "type", "bridge");
        await ProcessRunner.CheckedAsync("ip", "-n", Node.Name, "addr", "add", $"{Node.Address}/24", "dev", "br0");
        await ProcessRunner.CheckedAsync("ip", "-n", Node.Name, "addr", "add", $"{Node.Address6}/64", "dev", "br0", "nodad");
        await ProcessRunner.CheckedAsync("ip", "-n", Node.Name, "link", "set", "br0", "up");
    }

    private static void Delete(string name)
    {
        // Best effort: one namespace failing to go must not keep the others around.
        try
        {
            ProcessRunner.RunAsync("ip", "netns", "del", name).GetAwaiter().GetResult();
        }
        catch (Exception)
        {
        }
    }
}
