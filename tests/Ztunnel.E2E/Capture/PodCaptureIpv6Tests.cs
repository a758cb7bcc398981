using System.Net;
using System.Net.Sockets;
using Ztunnel.Capture;

namespace Ztunnel.E2E.Capture;

/// <summary>
/// The same capture for IPv6 (ip6tables, IP6T_SO_ORIGINAL_DST, IPV6_TRANSPARENT), with the daemon's
/// listeners bound dual-stack on <c>[::]</c> so one socket per port serves both families.
/// </summary>
public sealed class PodCaptureIpv6Tests : CapturedPodTests
{
    protected override bool Ipv6 => true;

    protected override (IPAddress Outbound, IPAddress Inbound) ListenAddresses => (IPAddress.IPv6Any, IPAddress.IPv6Any);

    [Fact]
    public async Task Outbound_BothFamilies_LandOnOneListener_WithOriginalDestination()
    {
        foreach (IPAddress target in (IPAddress[])[Node.Address6, Node.Address])
        {
            var destination = new IPEndPoint(target, 80);
            using Socket app = await Runner.CreateConnectingSocketAsync(Pod.Path, target.AddressFamily, mark: 0, null);
            await app.ConnectAsync(destination).WaitAsync(Guard);

            using Socket captured = await Outbound.AcceptAsync().WaitAsync(Guard);

            SocketOptions.GetOriginalDestination(captured).ShouldBe(destination);
        }
    }

    [Fact]
    public async Task Inbound_Ipv6_LandsOn15006_AndTransparentConnectBackPreservesClientIp()
    {
        await using var app = await PythonPeer.StartServerAsync(Pod, IPAddress.IPv6Any, 80);
        await using var client = PythonPeer.StartClient(Node, new IPEndPoint(Pod.Address6, 80), "ping6");

        using Socket downstream = await Inbound.AcceptAsync().WaitAsync(Guard);
        var original = (IPEndPoint)downstream.LocalEndPoint!;
        original.ShouldBe(new IPEndPoint(Pod.Address6, 80));
        using Socket upstream = await Runner.CreateConnectingSocketAsync(Pod.Path, AddressFamily.InterNetworkV6, InpodConfig.DaemonMark, (IPEndPoint)downstream.RemoteEndPoint!);
        await upstream.ConnectAsync(original).WaitAsync(Guard);

        (await app.ReadLineAsync()).ShouldBe($"peer {Node.Address6}");
        await SocketText.WriteLineAsync(upstream, await SocketText.ReadLineAsync(downstream));
        await SocketText.WriteLineAsync(downstream, await SocketText.ReadLineAsync(upstream));
        (await client.ReadLineAsync()).ShouldBe($"local {Node.Address6}");
        (await client.ReadLineAsync()).ShouldBe("got echo:ping6");
    }

    [Fact]
    public async Task Inbound_Ipv4_LandsOnTheDualStackListener()
    {
        using Socket client = await Runner.CreateConnectingSocketAsync(Node.Path, AddressFamily.InterNetwork, mark: 0, null);

        await client.ConnectAsync(new IPEndPoint(Pod.Address, 80)).WaitAsync(Guard);
        using Socket captured = await Inbound.AcceptAsync().WaitAsync(Guard);

        captured.LocalEndPoint.ShouldBe(new IPEndPoint(Pod.Address.MapToIPv6(), 80));
    }

    [Fact]
    public async Task Remove_Ipv6_LeavesNothing()
    {
        await new PodRules().RemoveAsync(Pod.Path, ipv6: true, CancellationToken.None);

        (await TestTopology.ExecAsync(Pod, "ip6tables-save")).ShouldNotContain("ZTUNNEL");
        (await TestTopology.ExecAsync(Pod, "ip", "-6", "rule", "show")).ShouldNotContain("fwmark");
        (await TestTopology.ExecAsync(Pod, "ip", "-6", "route", "show", "table", "100")).Trim().ShouldBeEmpty();
    }
}
