using System.Net;
using System.Net.Sockets;
using Ztunnel.Capture;

namespace Ztunnel.E2E.Capture;

/// <summary>
/// What the in-pod rules do to real connections: a node netns and a pod netns joined by a veth, our rules
/// installed in the pod, and the daemon's three listeners opened there through <see cref="NetnsRunner"/>.
/// </summary>
public sealed class PodCaptureTests : CapturedPodTests
{
    private Socket _hbone = null!;

    protected override bool Ipv6 => false;

    // REDIRECT of locally generated connections rewrites the destination to 127.0.0.1.
    protected override (IPAddress Outbound, IPAddress Inbound) ListenAddresses => (IPAddress.Loopback, IPAddress.Any);

    protected override async Task OpenMoreListenersAsync() =>
        _hbone = Track(await Runner.CreateListenerAsync(Pod.Path, new IPEndPoint(Pod.Address, InpodConfig.InboundHbonePort), transparent: false, InpodConfig.DaemonMark));

    [Fact]
    public async Task Outbound_AppConnection_LandsOn15001_WithOriginalDestination()
    {
        var destination = new IPEndPoint(Node.Address, 80); // nothing listens there: only capture can answer
        await using var app = PythonPeer.StartClient(Pod, destination, "hello");

        using Socket captured = await Outbound.AcceptAsync().WaitAsync(Guard);

        SocketOptions.GetOriginalDestination(captured).ShouldBe(destination);
        ((IPEndPoint)captured.RemoteEndPoint!).Address.ShouldBe(Pod.Address);
        (await SocketText.ReadLineAsync(captured)).ShouldBe("hello");
        await SocketText.WriteLineAsync(captured, "world");
        (await app.ReadLineAsync()).ShouldBe($"local {Pod.Address}");
        (await app.ReadLineAsync()).ShouldBe("got world");
    }

    [Fact]
    public async Task Outbound_MarkedSocket_ReachesRealDestination_UnmarkedIsCaptured()
    {
        var destination = new IPEndPoint(Node.Address, 80);
        using Socket server = Track(await Runner.CreateListenerAsync(Node.Path, destination, transparent: false, mark: 0));

        using Socket marked = await Runner.CreateConnectingSocketAsync(Pod.Path, AddressFamily.InterNetwork, InpodConfig.DaemonMark, null);
        await marked.ConnectAsync(destination).WaitAsync(Guard);
        using Socket atServer = await server.AcceptAsync().WaitAsync(Guard);
        ((IPEndPoint)atServer.RemoteEndPoint!).Address.ShouldBe(Pod.Address);
        // Both directions: the server's replies come back into the pod past the inbound TPROXY rule.
        await SocketText.WriteLineAsync(marked, "to-server");
        (await SocketText.ReadLineAsync(atServer)).ShouldBe("to-server");
        await SocketText.WriteLineAsync(atServer, "to-pod");
        (await SocketText.ReadLineAsync(marked)).ShouldBe("to-pod");

        using Socket unmarked = await Runner.CreateConnectingSocketAsync(Pod.Path, AddressFamily.InterNetwork, mark: 0, null);
        await unmarked.ConnectAsync(destination).WaitAsync(Guard);
        using Socket captured = await Outbound.AcceptAsync().WaitAsync(Guard);
        SocketOptions.GetOriginalDestination(captured).ShouldBe(destination);
        server.Poll(0, SelectMode.SelectRead).ShouldBeFalse("the unmarked connection must not reach the server");
    }

    [Fact]
    public async Task Outbound_LoopbackAndOwnPodIp_AreNotCaptured()
    {
        using Socket app = Track(await Runner.CreateListenerAsync(Pod.Path, new IPEndPoint(IPAddress.Any, 8080), transparent: false, mark: 0));

        foreach (IPAddress target in (IPAddress[])[IPAddress.Loopback, Pod.Address])
        {
            using Socket client = await Runner.CreateConnectingSocketAsync(Pod.Path, AddressFamily.InterNetwork, mark: 0, null);
            await client.ConnectAsync(new IPEndPoint(target, 8080)).WaitAsync(Guard);
            using Socket accepted = await app.AcceptAsync().WaitAsync(Guard);
            ((IPEndPoint)accepted.LocalEndPoint!).Address.ShouldBe(target);
        }
        Outbound.Poll(0, SelectMode.SelectRead).ShouldBeFalse("nothing may land on 15001");
        Inbound.Poll(0, SelectMode.SelectRead).ShouldBeFalse("nothing may land on 15006");
    }

    [Fact]
    public async Task Inbound_ToAppPort_LandsOn15006_WithOriginalDestinationAsLocalEndPoint()
    {
        // The app binds the pod IP itself: its listener must not let the first SYN bypass capture.
        using Socket app = Track(await Runner.CreateListenerAsync(Pod.Path, new IPEndPoint(Pod.Address, 80), transparent: false, mark: 0));
        using Socket client = await Runner.CreateConnectingSocketAsync(Node.Path, AddressFamily.InterNetwork, mark: 0, null);

        await client.ConnectAsync(new IPEndPoint(Pod.Address, 80)).WaitAsync(Guard);
        using Socket captured = await Inbound.AcceptAsync().WaitAsync(Guard);

        captured.LocalEndPoint.ShouldBe(new IPEndPoint(Pod.Address, 80));
        captured.RemoteEndPoint.ShouldBe(client.LocalEndPoint);
        await SocketText.WriteLineAsync(client, "in");
        (await SocketText.ReadLineAsync(captured)).ShouldBe("in");
        await SocketText.WriteLineAsync(captured, "out");
        (await SocketText.ReadLineAsync(client)).ShouldBe("out");
        app.Poll(0, SelectMode.SelectRead).ShouldBeFalse("the app must not see the connection directly");
    }

    [Fact]
    public async Task Inbound_ToPort15008_ReachesHboneListenerDirectly()
    {
        using Socket client = await Runner.CreateConnectingSocketAsync(Node.Path, AddressFamily.InterNetwork, mark: 0, null);

        await client.ConnectAsync(new IPEndPoint(Pod.Address, InpodConfig.InboundHbonePort)).WaitAsync(Guard);
        using Socket accepted = await _hbone.AcceptAsync().WaitAsync(Guard);

        accepted.RemoteEndPoint.ShouldBe(client.LocalEndPoint);
        Inbound.Poll(0, SelectMode.SelectRead).ShouldBeFalse("15008 must not be diverted to 15006");
    }

    [Fact]
    public async Task Inbound_TransparentConnectToApp_AppSeesClientIp_AndDataFlowsBothWays()
    {
        await using var app = await PythonPeer.StartServerAsync(Pod, Pod.Address, 80);
        await using var client = PythonPeer.StartClient(Node, new IPEndPoint(Pod.Address, 80), "ping");

        // What the inbound plaintext proxy does: accept the diverted connection, connect to the app from
        // the client's IP, relay.
        using Socket downstream = await Inbound.AcceptAsync().WaitAsync(Guard);
        var original = (IPEndPoint)downstream.LocalEndPoint!;
        var clientEndPoint = (IPEndPoint)downstream.RemoteEndPoint!;
        using Socket upstream = await Runner.CreateConnectingSocketAsync(Pod.Path, AddressFamily.InterNetwork, InpodConfig.DaemonMark, clientEndPoint);
        await upstream.ConnectAsync(original).WaitAsync(Guard);

        (await app.ReadLineAsync()).ShouldBe($"peer {Node.Address}");
        ((IPEndPoint)upstream.LocalEndPoint!).Address.ShouldBe(Node.Address);
        await SocketText.WriteLineAsync(upstream, await SocketText.ReadLineAsync(downstream));
        await SocketText.WriteLineAsync(downstream, await SocketText.ReadLineAsync(upstream));
        (await client.ReadLineAsync()).ShouldBe($"local {Node.Address}");
        (await client.ReadLineAsync()).ShouldBe("got echo:ping");

        // The daemon's packets to the app left mangle OUTPUT with its own mark (no rewrite, so no second route
        // lookup each); only the app's replies had the mark restored.
        (long daemonReturned, long restored) = await OutputCountersAsync();
        daemonReturned.ShouldBeGreaterThan(0);
        restored.ShouldBeGreaterThan(0);
    }

    /// <summary>Packets counted by mangle ZTUNNEL_OUTPUT's two rules: the daemon's RETURN and the app's restore.</summary>
    private async Task<(long DaemonReturned, long Restored)> OutputCountersAsync()
    {
        string saved = await TestTopology.ExecAsync(Pod, "iptables-save", "-c", "-t", "mangle");
        long Count(string rule)
        {
            string line = saved.Split('\n').Single(l => l.EndsWith(rule, StringComparison.Ordinal) && l.Contains(PodRules.OutputChain, StringComparison.Ordinal));
            return long.Parse(line[1..line.IndexOf(':', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
        }
        return (Count("-m mark --mark 0x539/0xfff -j RETURN"), Count("-j CONNMARK --restore-mark --nfmask 0xfff --ctmask 0xfff"));
    }
}
