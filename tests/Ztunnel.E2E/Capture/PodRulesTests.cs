using System.Net;
using System.Net.Sockets;
using Ztunnel.Capture;

namespace Ztunnel.E2E.Capture;

/// <summary>Applying, re-applying and removing the pod rules in a real pod netns, and how failures read.</summary>
public sealed class PodRulesTests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private readonly NetnsRunner _runner = new();
    private readonly PodRules _rules = new();
    private TestTopology? _topology;
    private TestNamespace _pod = null!;
    private TestNamespace _node = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.CreateAsync("cap");
        _pod = _topology.Pods[0];
        _node = _topology.Node;
    }

    public Task DisposeAsync()
    {
        _runner.Dispose();
        _topology?.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Apply_Twice_LeavesOneCopyOfEachRule_AndStillCaptures()
    {
        await _rules.ApplyAsync(_pod.Path, ipv6: false, CancellationToken.None);
        // A leftover from an older daemon: a second jump into our chain must not survive a re-apply.
        await TestTopology.ExecAsync(_pod, "iptables", "-w", "-t", "nat", "-A", "OUTPUT", "-j", PodRules.OutputChain);
        await _rules.ApplyAsync(_pod.Path, ipv6: false, CancellationToken.None);

        string[] ours = await OurIptablesLinesAsync();
        ours.Length.ShouldBe(3 + PodRules.ChainRules(ipv6: false).Length, string.Join('\n', ours)); // 3 jumps + our rules
        ours.Distinct().Count().ShouldBe(ours.Length, string.Join('\n', ours));
        (await FwmarkRulesAsync()).Length.ShouldBe(1);
        (await LocalRoutesAsync()).Length.ShouldBe(1);

        using Socket outbound = await _runner.CreateListenerAsync(_pod.Path, new IPEndPoint(IPAddress.Loopback, InpodConfig.OutboundPort), transparent: false, InpodConfig.DaemonMark);
        using Socket app = await _runner.CreateConnectingSocketAsync(_pod.Path, AddressFamily.InterNetwork, mark: 0, null);
        await app.ConnectAsync(new IPEndPoint(_node.Address, 80)).WaitAsync(Guard);
        using Socket captured = await outbound.AcceptAsync().WaitAsync(Guard);
        SocketOptions.GetOriginalDestination(captured).ShouldBe(new IPEndPoint(_node.Address, 80));
    }

    [Fact]
    public async Task Remove_DeletesEverything_AndTrafficIsNoLongerCaptured()
    {
        await _rules.ApplyAsync(_pod.Path, ipv6: false, CancellationToken.None);

        await _rules.RemoveAsync(_pod.Path, ipv6: false, CancellationToken.None);
        await _rules.RemoveAsync(_pod.Path, ipv6: false, CancellationToken.None); // nothing left: still fine

        (await TestTopology.ExecAsync(_pod, "iptables-save")).ShouldNotContain("ZTUNNEL");
        (await FwmarkRulesAsync()).ShouldBeEmpty();
        (await LocalRoutesAsync()).ShouldBeEmpty();
        var destination = new IPEndPoint(_node.Address, 80);
        using Socket server = await _runner.CreateListenerAsync(_node.Path, destination, transparent: false, mark: 0);
        using Socket app = await _runner.CreateConnectingSocketAsync(_pod.Path, AddressFamily.InterNetwork, mark: 0, null);
        await app.ConnectAsync(destination).WaitAsync(Guard);
        using Socket accepted = await server.AcceptAsync().WaitAsync(Guard);
        accepted.RemoteEndPoint.ShouldBe(app.LocalEndPoint);
    }

    [Fact]
    public async Task Remove_NetnsAlreadyGone_Succeeds()
    {
        await _rules.RemoveAsync("/var/run/netns/cap-never-existed", ipv6: false, CancellationToken.None);
    }

    [Fact]
    public async Task Apply_MissingNsenter_ThrowsCaptureExceptionNamingNetnsAndBinary()
    {
        var rules = new PodRules(new CaptureOptions { Nsenter = "/nonexistent/nsenter" });

        var error = await Should.ThrowAsync<CaptureException>(() => rules.ApplyAsync(_pod.Path, ipv6: false, CancellationToken.None));

        error.Message.ShouldContain(_pod.Path);
        error.Message.ShouldContain("/nonexistent/nsenter");
    }

    [Fact]
    public async Task Apply_MissingIptablesRestore_ThrowsCaptureExceptionWithToolError()
    {
        var rules = new PodRules(new CaptureOptions { IptablesRestore = "/nonexistent/iptables-restore" });

        var error = await Should.ThrowAsync<CaptureException>(() => rules.ApplyAsync(_pod.Path, ipv6: false, CancellationToken.None));

        error.Message.ShouldContain(_pod.Path);
        error.Message.ShouldContain("/nonexistent/iptables-restore");
        error.Message.ShouldContain("No such file or directory");
    }

    [Fact]
    public async Task Apply_UnknownNetns_ThrowsCaptureExceptionWithNsenterError()
    {
        const string missing = "/var/run/netns/cap-does-not-exist";

        var error = await Should.ThrowAsync<CaptureException>(() => _rules.ApplyAsync(missing, ipv6: false, CancellationToken.None));

        error.Message.ShouldContain(missing);
        error.Message.ShouldContain("nsenter");
    }

    /// <summary>Our rule lines, each prefixed with its table ("-A OUTPUT -j ZTUNNEL_OUTPUT" is in two).</summary>
    private async Task<string[]> OurIptablesLinesAsync()
    {
        var ours = new List<string>();
        string table = "";
        foreach (string line in (await TestTopology.ExecAsync(_pod, "iptables-save")).Split('\n'))
        {
            if (line.StartsWith('*'))
            {
                table = line[1..];
            }
            else if (line.StartsWith("-A ", StringComparison.Ordinal) && line.Contains("ZTUNNEL", StringComparison.Ordinal))
            {
                ours.Add($"{table}: {line}");
            }
        }
        return [.. ours];
    }

    private async Task<string[]> FwmarkRulesAsync() =>
        (await TestTopology.ExecAsync(_pod, "ip", "rule", "show"))
            .Split('\n')
            .Where(line => line.Contains("fwmark 0x111/0xfff", StringComparison.Ordinal))
            .ToArray();

    private async Task<string[]> LocalRoutesAsync() =>
        (await TestTopology.ExecAsync(_pod, "ip", "route", "show", "table", "100"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
