using System.Net;
using System.Net.Sockets;
using Ztunnel.Capture;

namespace Ztunnel.E2E.Capture;

/// <summary>
/// The same capture for IPv6 (ip6tables, IP6T_SO_ORIGINAL_DST, IPV6_TRANSPARENT), with the daemon's
/// listeners bound dual-stack on <c>[::]</c> so one socket per port serves both families.
/// </summary>
public sealed class PodCaptureIpv6Tests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private readonly NetnsRunner _runner = new();
    private readonly List<Socket> _sockets = [];
    private TestTopology? _topology;
    private TestNamespace _pod = null!;
    private TestNamespace _node = null!;
    private Socket _outbound = null!;
    private Socket _inbound = null!;

    public async Task InitializeAsync()
    {
        try
        {
            _topology = await TestTopology.CreateAsync("cap");
            _pod = _topology.Pods[0];
            _node = _topology.Node;
            await new PodRules().ApplyAsync(_pod.Path, ipv6: true, CancellationToken.None);
            _outbound = Track(await _runner.CreateListenerAsync(_pod.Path, new IPEndPoint(IPAddress.IPv6Any, InpodConfig.OutboundPort), transparent: false, InpodConfig.DaemonMark));
            _inbound = Track(await _runner.CreateListenerAsync(_pod.Path, new IPEndPoint(IPAddress.IPv6Any, InpodConfig.InboundPlaintextPort), transparent: true, InpodConfig.DaemonMark));
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public Task DisposeAsync()
    {
        foreach (Socket socket in _sockets)
        {
            socket.Dispose();
        }
        _runner.Dispose();
        _topology?.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Outbound_BothFamilies_LandOnOneListener_WithOriginalDestination()
    {
        foreach (IPAddress target in (IPAddress[])[_node.Address6, _node.Address])
        {
            var destination = new IPEndPoint(target, 80);
            using Socket app = await _runner.CreateConnectingSocketAsync(_pod.Path, target.AddressFamily, mark: 0, null);
            await app.ConnectAsync(destination).WaitAsync(Guard);

            using Socket captured = await _outbound.AcceptAsync().WaitAsync(Guard);

            SocketOptions.GetOriginalDestination(captured).ShouldBe(destination);
        }
    }

    [Fact]
    public async Task Inbound_Ipv6_LandsOn15006_AndTransparentConnectBackPreservesClientIp()
    {
        await using var app = await PythonPeer.StartServerAsync(_pod, IPAddress.IPv6Any, 80);
        await using var client = PythonPeer.StartClient(_node, new IPEndPoint(_pod.Address6, 80), "ping6");

        using Socket downstream = await _inbound.AcceptAsync().WaitAsync(Guard);
        var original = (IPEndPoint)downstream.LocalEndPoint!;
        original.ShouldBe(new IPEndPoint(_pod.Address6, 80));
        using Socket upstream = await _runner.CreateConnectingSocketAsync(_pod.Path, AddressFamily.InterNetworkV6, InpodConfig.DaemonMark, (IPEndPoint)downstream.RemoteEndPoint!);
        await upstream.ConnectAsync(original).WaitAsync(Guard);

        (await app.ReadLineAsync()).ShouldBe($"peer {_node.Address6}");
        await SocketText.WriteLineAsync(upstream, await SocketText.ReadLineAsync(downstream));
        await SocketText.WriteLineAsync(downstream, await SocketText.ReadLineAsync(upstream));
        (await client.ReadLineAsync()).ShouldBe($"local {_node.Address6}");
        (await client.ReadLineAsync()).ShouldBe("got echo:ping6");
    }

    [Fact]
    public async Task Inbound_Ipv4_LandsOnTheDualStackListener()
    {
        using Socket client = await _runner.CreateConnectingSocketAsync(_node.Path, AddressFamily.InterNetwork, mark: 0, null);

        await client.ConnectAsync(new IPEndPoint(_pod.Address, 80)).WaitAsync(Guard);
        using Socket captured = await _inbound.AcceptAsync().WaitAsync(Guard);

        captured.LocalEndPoint.ShouldBe(new IPEndPoint(_pod.Address.MapToIPv6(), 80));
    }

    [Fact]
    public async Task Remove_Ipv6_LeavesNothing()
    {
        await new PodRules().RemoveAsync(_pod.Path, ipv6: true, CancellationToken.None);

        (await TestTopology.ExecAsync(_pod, "ip6tables-save")).ShouldNotContain("ZTUNNEL");
        (await TestTopology.ExecAsync(_pod, "ip", "-6", "rule", "show")).ShouldNotContain("fwmark");
        (await TestTopology.ExecAsync(_pod, "ip", "-6", "route", "show", "table", "100")).Trim().ShouldBeEmpty();
    }

    private Socket Track(Socket socket)
    {
        _sockets.Add(socket);
        return socket;
    }
}
