using System.Net;
using System.Net.Sockets;
using Ztunnel.Capture;

namespace Ztunnel.E2E.Capture;

/// <summary>
/// What the in-pod rules do to real connections: a node netns and a pod netns joined by a veth, our rules
/// installed in the pod, and the daemon's three listeners opened there through <see cref="NetnsRunner"/>.
/// </summary>
public sealed class PodCaptureTests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private readonly NetnsRunner _runner = new();
    private readonly List<Socket> _sockets = [];
    private TestTopology? _topology;
    private TestNamespace _pod = null!;
    private TestNamespace _node = null!;
    private Socket _outbound = null!;
    private Socket _inbound = null!;
    private Socket _hbone = null!;

    public async Task InitializeAsync()
    {
        try
        {
            _topology = await TestTopology.CreateAsync("cap");
            _pod = _topology.Pods[0];
            _node = _topology.Node;
            await new PodRules().ApplyAsync(_pod.Path, ipv6: false, CancellationToken.None);
            // REDIRECT of locally generated connections rewrites the destination to 127.0.0.1.
            _outbound = Track(await _runner.CreateListenerAsync(_pod.Path, new IPEndPoint(IPAddress.Loopback, InpodConfig.OutboundPort), transparent: false, InpodConfig.DaemonMark));
            _inbound = Track(await _runner.CreateListenerAsync(_pod.Path, new IPEndPoint(IPAddress.Any, InpodConfig.InboundPlaintextPort), transparent: true, InpodConfig.DaemonMark));
            _hbone = Track(await _runner.CreateListenerAsync(_pod.Path, new IPEndPoint(_pod.Address, InpodConfig.InboundHbonePort), transparent: false, InpodConfig.DaemonMark));
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
    public async Task Outbound_AppConnection_LandsOn15001_WithOriginalDestination()
    {
        var destination = new IPEndPoint(_node.Address, 80); // nothing listens there: only capture can answer
        await using var app = PythonPeer.StartClient(_pod, destination, "hello");

        using Socket captured = await _outbound.AcceptAsync().WaitAsync(Guard);

        SocketOptions.GetOriginalDestination(captured).ShouldBe(destination);
        ((IPEndPoint)captured.RemoteEndPoint!).Address.ShouldBe(_pod.Address);
        (await SocketText.ReadLineAsync(captured)).ShouldBe("hello");
        await SocketText.WriteLineAsync(captured, "world");
        (await app.ReadLineAsync()).ShouldBe($"local {_pod.Address}");
        (await app.ReadLineAsync()).ShouldBe("got world");
    }

    [Fact]
    public async Task Outbound_MarkedSocket_ReachesRealDestination_UnmarkedIsCaptured()
    {
        var destination = new IPEndPoint(_node.Address, 80);
        using Socket server = Track(await _runner.CreateListenerAsync(_node.Path, destination, transparent: false, mark: 0));

        using Socket marked = await _runner.CreateConnectingSocketAsync(_pod.Path, AddressFamily.InterNetwork, InpodConfig.DaemonMark, null);
        await marked.ConnectAsync(destination).WaitAsync(Guard);
        using Socket atServer = await server.AcceptAsync().WaitAsync(Guard);
        ((IPEndPoint)atServer.RemoteEndPoint!).Address.ShouldBe(_pod.Address);
        // Both directions: the server's replies come back into the pod past the inbound TPROXY rule.
        await SocketText.WriteLineAsync(marked, "to-server");
        (await SocketText.ReadLineAsync(atServer)).ShouldBe("to-server");
        await SocketText.WriteLineAsync(atServer, "to-pod");
        (await SocketText.ReadLineAsync(marked)).ShouldBe("to-pod");

        using Socket unmarked = await _runner.CreateConnectingSocketAsync(_pod.Path, AddressFamily.InterNetwork, mark: 0, null);
        await unmarked.ConnectAsync(destination).WaitAsync(Guard);
        using Socket captured = await _outbound.AcceptAsync().WaitAsync(Guard);
        SocketOptions.GetOriginalDestination(captured).ShouldBe(destination);
        server.Poll(0, SelectMode.SelectRead).ShouldBeFalse("the unmarked connection must not reach the server");
    }

    [Fact]
    public async Task Outbound_LoopbackAndOwnPodIp_AreNotCaptured()
    {
        using Socket app = Track(await _runner.CreateListenerAsync(_pod.Path, new IPEndPoint(IPAddress.Any, 8080), transparent: false, mark: 0));

        foreach (IPAddress target in (IPAddress[])[IPAddress.Loopback, _pod.Address])
        {
            using Socket client = await _runner.CreateConnectingSocketAsync(_pod.Path, AddressFamily.InterNetwork, mark: 0, null);
            await client.ConnectAsync(new IPEndPoint(target, 8080)).WaitAsync(Guard);
            using Socket accepted = await app.AcceptAsync().WaitAsync(Guard);
            ((IPEndPoint)accepted.LocalEndPoint!).Address.ShouldBe(target);
        }
        _outbound.Poll(0, SelectMode.SelectRead).ShouldBeFalse("nothing may land on 15001");
        _inbound.Poll(0, SelectMode.SelectRead).ShouldBeFalse("nothing may land on 15006");
    }

    [Fact]
    public async Task Inbound_ToAppPort_LandsOn15006_WithOriginalDestinationAsLocalEndPoint()
    {
        // The app binds the pod IP itself: its listener must not let the first SYN bypass capture.
        using Socket app = Track(await _runner.CreateListenerAsync(_pod.Path, new IPEndPoint(_pod.Address, 80), transparent: false, mark: 0));
        using Socket client = await _runner.CreateConnectingSocketAsync(_node.Path, AddressFamily.InterNetwork, mark: 0, null);

        await client.ConnectAsync(new IPEndPoint(_pod.Address, 80)).WaitAsync(Guard);
        using Socket captured = await _inbound.AcceptAsync().WaitAsync(Guard);

        captured.LocalEndPoint.ShouldBe(new IPEndPoint(_pod.Address, 80));
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
        using Socket client = await _runner.CreateConnectingSocketAsync(_node.Path, AddressFamily.InterNetwork, mark: 0, null);

        await client.ConnectAsync(new IPEndPoint(_pod.Address, InpodConfig.InboundHbonePort)).WaitAsync(Guard);
        using Socket accepted = await _hbone.AcceptAsync().WaitAsync(Guard);

        accepted.RemoteEndPoint.ShouldBe(client.LocalEndPoint);
        _inbound.Poll(0, SelectMode.SelectRead).ShouldBeFalse("15008 must not be diverted to 15006");
    }

    [Fact]
    public async Task Inbound_TransparentConnectToApp_AppSeesClientIp_AndDataFlowsBothWays()
    {
        await using var app = await PythonPeer.StartServerAsync(_pod, _pod.Address, 80);
        await using var client = PythonPeer.StartClient(_node, new IPEndPoint(_pod.Address, 80), "ping");

        // What the inbound plaintext proxy does: accept the diverted connection, connect to the app from
        // the client's IP, relay.
        using Socket downstream = await _inbound.AcceptAsync().WaitAsync(Guard);
        var original = (IPEndPoint)downstream.LocalEndPoint!;
        var clientEndPoint = (IPEndPoint)downstream.RemoteEndPoint!;
        using Socket upstream = await _runner.CreateConnectingSocketAsync(_pod.Path, AddressFamily.InterNetwork, InpodConfig.DaemonMark, clientEndPoint);
        await upstream.ConnectAsync(original).WaitAsync(Guard);

        (await app.ReadLineAsync()).ShouldBe($"peer {_node.Address}");
        ((IPEndPoint)upstream.LocalEndPoint!).Address.ShouldBe(_node.Address);
        await SocketText.WriteLineAsync(upstream, await SocketText.ReadLineAsync(downstream));
        await SocketText.WriteLineAsync(downstream, await SocketText.ReadLineAsync(upstream));
        (await client.ReadLineAsync()).ShouldBe($"local {_node.Address}");
        (await client.ReadLineAsync()).ShouldBe("got echo:ping");
    }

    private Socket Track(Socket socket)
    {
        _sockets.Add(socket);
        return socket;
    }
}
