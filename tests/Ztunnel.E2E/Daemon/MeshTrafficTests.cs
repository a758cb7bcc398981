using System.Net;
using System.Net.Sockets;
using System.Text;
using Ztunnel.E2E.Mesh;

namespace Ztunnel.E2E.Daemon;

/// <summary>The two-node mesh of <see cref="MeshTrafficTests"/>, with no policies.</summary>
public sealed class TrafficMeshFixture() : MeshFixture("e2e-traffic");

/// <summary>
/// What apps in a two-node mesh of real daemons notice: pod-to-pod connections over HBONE (encrypted on
/// the node link, the client's own IP at the server), passthrough to the world outside the mesh, plaintext
/// from outside, and service VIPs spreading over healthy endpoints only.
/// </summary>
public sealed class MeshTrafficTests(TrafficMeshFixture mesh) : IClassFixture<TrafficMeshFixture>
{
    private const string Marker = "ZTUNNEL-E2E-PLAINTEXT-MARKER";

    [Fact]
    public async Task CrossNode_PodToPod_GoesOverHbone_EncryptedOnTheLink_ServerSeesClientIp()
    {
        string pcap = Path.Combine(mesh.RunDirectory, "link.pcap");
        await using PacketCapture capture = await PacketCapture.StartAsync(mesh.Topology.A, MeshTopology.LinkAToB, pcap);
        // Enough payload that its ciphertext cannot hide in a packet or two the capture might still be writing.
        string hbonePayload = string.Concat(Enumerable.Repeat(Marker + " via HBONE ", 2000));
        string plainPayload = Marker + " via passthrough";

        EchoReply reply = await mesh.ClientApp.EchoAsync(mesh.AppB.EchoEndPoint, hbonePayload);
        // Control: the same kind of marker to a workload outside the mesh crosses the link in the clear.
        EchoReply passthrough = await mesh.ClientApp.EchoAsync(mesh.AppLegacy.EchoEndPoint, plainPayload);

        reply.Server.ShouldBe("server-b");
        reply.SeenClient.ShouldBe(mesh.Client.Address);
        reply.Echoed.ShouldBe(hbonePayload);
        passthrough.Echoed.ShouldBe(plainPayload);
        var hboneServer = new IPEndPoint(mesh.ServerB.Address, 15008);
        await capture.WaitUntilAsync(
            packets => PayloadTo(packets, hboneServer) >= hbonePayload.Length && PayloadTo(packets, mesh.AppLegacy.EchoEndPoint) >= plainPayload.Length,
            $"{hbonePayload.Length} bytes from {mesh.Client.Address} to {hboneServer} and the passthrough payload to {mesh.AppLegacy.EchoEndPoint}");
        capture.Contains(Marker + " via passthrough").ShouldBeTrue("the capture sees plaintext payloads (control)");
        capture.Contains(Marker + " via HBONE").ShouldBeFalse("the HBONE payload crossed the node link in cleartext");
        capture.Packets().ShouldNotContain(p => p.Destination.Equals(mesh.AppB.EchoEndPoint), "a packet to server-b's app port bypassed the tunnel");
    }

    [Fact]
    public async Task SameNode_PodToPod_GoesOverHbone_ServerSeesClientIp()
    {
        int mark = mesh.DaemonA.LineCount;

        EchoReply reply = await mesh.ClientApp.EchoAsync(mesh.AppA.EchoEndPoint, "same node");

        reply.Server.ShouldBe("server-a");
        reply.SeenClient.ShouldBe(mesh.Client.Address);
        reply.Echoed.ShouldBe("same node");
        // The daemon logs the closed inbound connection by path: it arrived over HBONE, not plaintext.
        await mesh.DaemonA.WaitForLogAsync($"InboundHbone {mesh.Client.Address}:", mark);
    }

    [Fact]
    public async Task PodToWorkloadOutsideTheMesh_IsPassedThrough()
    {
        EchoReply reply = await mesh.ClientApp.EchoAsync(mesh.AppLegacy.EchoEndPoint, "to legacy");

        reply.Server.ShouldBe("legacy");
        reply.SeenClient.ShouldBe(mesh.Client.Address);
        reply.Echoed.ShouldBe("to legacy");
    }

    [Fact]
    public async Task PodToUnknownAddress_IsPassedThrough()
    {
        // The outsider pod is in no config and not captured: an address the mesh knows nothing about.
        await using PodServer unknown = await PodServer.StartAsync(mesh.Runner, mesh.Outsider.Netns, "unknown");

        EchoReply reply = await mesh.ClientApp.EchoAsync(unknown.EchoEndPoint, "to the unknown");

        reply.Server.ShouldBe("unknown");
        reply.SeenClient.ShouldBe(mesh.Client.Address);
        reply.Echoed.ShouldBe("to the unknown");
    }

    [Fact]
    public async Task ClientOutsideTheMesh_ToMeshedPod_PlaintextIsAccepted_AppSeesClientIp()
    {
        int mark = mesh.DaemonB.LineCount;

        EchoReply reply = await mesh.OutsiderApp.EchoAsync(mesh.AppB.EchoEndPoint, "plaintext in");

        reply.Server.ShouldBe("server-b");
        reply.SeenClient.ShouldBe(mesh.Outsider.Address);
        reply.Echoed.ShouldBe("plaintext in");
        await mesh.DaemonB.WaitForLogAsync($"InboundPlaintext {mesh.Outsider.Address}:", mark);
    }

    [Fact]
    public async Task ServiceVip_SpreadsConnectionsOverBothNodesEndpoints()
    {
        var servers = new Dictionary<string, int>();
        for (int i = 0; i < 40; i++)
        {
            EchoReply reply = await mesh.ClientApp.EchoAsync(MeshFixture.ServiceVip, $"call {i}");
            reply.SeenClient.ShouldBe(mesh.Client.Address);
            reply.Echoed.ShouldBe($"call {i}");
            servers[reply.Server] = servers.GetValueOrDefault(reply.Server) + 1;
        }

        servers.Keys.Order().ToArray().ShouldBe(["server-a", "server-b"], customMessage: string.Join(", ", servers));
    }

    [Fact]
    public async Task ServiceVip_UnhealthyEndpoint_IsNeverChosen()
    {
        var servers = new Dictionary<string, int>();
        for (int i = 0; i < 40; i++)
        {
            EchoReply reply = await mesh.ClientApp.EchoAsync(MeshFixture.DegradedServiceVip, $"call {i}");
            servers[reply.Server] = servers.GetValueOrDefault(reply.Server) + 1;
        }

        servers.ShouldBe(new Dictionary<string, int> { ["server-b"] = 40 });
    }

    [Theory]
    [InlineData('b')] // over HBONE, cross node
    [InlineData('a')] // over HBONE, same node
    public async Task ServerHalfClosesFirst_ClientSeesEof_AndCanStillSend(char node)
    {
        PodServer app = node == 'a' ? mesh.AppA : mesh.AppB;
        using Socket socket = await mesh.ClientApp.ConnectAsync(app.FinFirstEndPoint);

        // The server's FIN arrives as end of stream after its greeting, while the other direction stays open.
        byte[] fromServer = await PodClient.ReadToEndAsync(socket);
        Encoding.ASCII.GetString(fromServer).ShouldBe($"{app.Name} {mesh.Client.Address}\n");
        byte[] late = new byte[100_000];
        await PodClient.ExchangeAsync(socket, late);

        (await app.NextReceivedAfterFinAsync()).ShouldBe(late.Length);
    }

    [Fact]
    public async Task NoAppListeningOnThePort_ClientSeesTheConnectionClosed_CountedAsConnectFailure()
    {
        var closedPort = new IPEndPoint(mesh.ServerB.Address, 7777);
        MetricsScrape before = await mesh.ScrapeAsync('b');

        bool closed = await mesh.ClientApp.IsClosedWithoutAnswerAsync(closedPort, "anyone?");

        closed.ShouldBeTrue();
        MetricsScrape after = await mesh.ScrapeAsync('b');
        string[] labels = ["reporter=\"destination\"", "response_flags=\"CONNECT\"", "destination_workload=\"server-b\""];
        (after.Sum("istio_tcp_connections_failed_total", labels) - before.Sum("istio_tcp_connections_failed_total", labels)).ShouldBe(1, after.Text);
    }

    [Fact]
    public async Task PodToItsOwnIp_IsNotCaptured_AndWorks()
    {
        var self = new PodClient(mesh.Runner, mesh.ServerA.Netns);
        int mark = mesh.DaemonA.LineCount;

        EchoReply reply = await self.EchoAsync(mesh.AppA.EchoEndPoint, "to myself");

        reply.Server.ShouldBe("server-a");
        reply.SeenClient.ShouldBe(mesh.ServerA.Address);
        reply.Echoed.ShouldBe("to myself");
        mesh.DaemonA.LinesSince(mark).ShouldNotContain(line => line.Contains($"{mesh.ServerA.Address}:{PodServer.EchoPort} closed", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData('a', true)]  // same node, the client aborts
    [InlineData('b', true)]  // cross node, the client aborts
    [InlineData('a', false)] // same node, the server aborts
    [InlineData('b', false)] // cross node, the server aborts
    public async Task Abort_OnOneSide_IsSeenAsResetOnTheOther(char node, bool clientAborts)
    {
        MeshPod server = node == 'a' ? mesh.ServerA : mesh.ServerB;
        int port = clientAborts ? 6061 : 6062;
        using Socket listener = await mesh.Runner.CreateListenerAsync(server.Netns.Path, new IPEndPoint(IPAddress.Any, port), transparent: false, mark: 0);
        using Socket client = await mesh.ClientApp.ConnectAsync(new IPEndPoint(server.Address, port));
        using Socket accepted = await listener.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await SocketText.WriteLineAsync(client, "ping");
        (await SocketText.ReadLineAsync(accepted)).ShouldBe("ping");
        await SocketText.WriteLineAsync(accepted, "pong");
        (await SocketText.ReadLineAsync(client)).ShouldBe("pong");
        (Socket aborting, Socket other) = clientAborts ? (client, accepted) : (accepted, client);

        aborting.LingerState = new LingerOption(true, 0);
        aborting.Close(); // RST

        SocketException reset = await Should.ThrowAsync<SocketException>(() => PodClient.ReadToEndAsync(other));
        reset.SocketErrorCode.ShouldBe(SocketError.ConnectionReset);
    }

    [Fact]
    public async Task ClientOutsideTheMesh_ToMeshedPodOnItsOwnNode_PlaintextIsAccepted_AppSeesClientIp()
    {
        EchoReply reply = await mesh.OutsiderApp.EchoAsync(mesh.AppA.EchoEndPoint, "plaintext next door");

        reply.Server.ShouldBe("server-a");
        reply.SeenClient.ShouldBe(mesh.Outsider.Address);
        reply.Echoed.ShouldBe("plaintext next door");
    }

    [Theory]
    [InlineData('a')]
    [InlineData('b')]
    public async Task Ipv6_PodToPod_GoesThroughTheMesh_ServerSeesClientIpv6(char node)
    {
        MeshPod server = node == 'a' ? mesh.ServerA : mesh.ServerB;
        DaemonProcess daemon = mesh.Daemon(node);
        int mark = daemon.LineCount;

        EchoReply reply = await mesh.ClientApp.EchoAsync(new IPEndPoint(server.Address6, PodServer.EchoPort), "over IPv6");

        reply.Server.ShouldBe(server.Name);
        reply.SeenClient.ShouldBe(mesh.Client.Address6);
        reply.Echoed.ShouldBe("over IPv6");
        await daemon.WaitForLogAsync($"InboundHbone [{mesh.Client.Address6}]:", mark);
    }

    [Fact]
    public async Task Ipv6_ClientOutsideTheMesh_ToMeshedPod_PlaintextIsAccepted_AppSeesClientIpv6()
    {
        int mark = mesh.DaemonB.LineCount;

        EchoReply reply = await mesh.OutsiderApp.EchoAsync(new IPEndPoint(mesh.ServerB.Address6, PodServer.EchoPort), "plaintext over IPv6");

        reply.Server.ShouldBe("server-b");
        reply.SeenClient.ShouldBe(mesh.Outsider.Address6);
        reply.Echoed.ShouldBe("plaintext over IPv6");
        await mesh.DaemonB.WaitForLogAsync($"InboundPlaintext [{mesh.Outsider.Address6}]:", mark);
    }

    [Fact]
    public async Task Ipv6_PodToWorkloadOutsideTheMesh_IsPassedThrough()
    {
        int mark = mesh.DaemonA.LineCount;

        EchoReply reply = await mesh.ClientApp.EchoAsync(new IPEndPoint(mesh.Legacy.Address6, PodServer.EchoPort), "to legacy over IPv6");

        reply.Server.ShouldBe("legacy");
        reply.SeenClient.ShouldBe(mesh.Client.Address6);
        reply.Echoed.ShouldBe("to legacy over IPv6");
        await mesh.DaemonA.WaitForLogAsync($"Outbound [{mesh.Client.Address6}]:", mark);
    }

    [Fact]
    public async Task PodToPod_AppSidesOfTheRelay_UseCubic_WhileTheNodeLinkKeepsTheNodesChoice()
    {
        using Socket app = await mesh.ClientApp.ConnectAsync(mesh.AppB.EchoEndPoint);
        // The greeting came through the tunnel: by now both daemons hold their sockets of this connection.
        (await app.ReceiveAsync(new byte[1])).ShouldBe(1);
        int appPort = ((IPEndPoint)app.LocalEndPoint!).Port;
        string nodeDefault = (await TestTopology.ExecAsync(mesh.Client.Netns, "sysctl", "-n", "net.ipv4.tcp_congestion_control")).Trim();

        string[] outboundSide = await CongestionControlsAsync(mesh.Client.Netns, $"( sport = :15001 and dport = :{appPort} )");
        string[] inboundSide = await CongestionControlsAsync(mesh.ServerB.Netns, $"( dport = :{PodServer.EchoPort} and src {mesh.Client.Address} )");
        string[] hbone = await CongestionControlsAsync(mesh.Client.Netns, "( dport = :15008 )");

        // The daemon's ends of the two pod-local hops: no network there, so no BBR pacing timers. (On a node whose
        // default is cubic already these two cannot tell; this project's machines default to bbr.)
        // Seen once in CI (session 25): no socket matched on the outbound side, not reproduced since; on a miss the
        // message carries every TCP socket of both pods, so the next one says why.
        string sockets = outboundSide.Length == 1 && inboundSide.Length == 1 ? "" :
            $"client pod:\n{await TestTopology.ExecAsync(mesh.Client.Netns, "ss", "-tinaH")}\nserver pod:\n{await TestTopology.ExecAsync(mesh.ServerB.Netns, "ss", "-tinaH")}";
        outboundSide.ShouldBe(["cubic"], $"app port {appPort}; {sockets}");
        inboundSide.ShouldBe(["cubic"], sockets);
        // The tunnel crosses the node link: the node's congestion control (bbr on this project's machines) stays.
        hbone.ShouldNotBeEmpty();
        hbone.ShouldAllBe(name => name == nodeDefault);
    }

    /// <summary>The congestion control of each established TCP socket in <paramref name="pod"/> that matches <paramref name="filter"/> (ss -ti).</summary>
    private static async Task<string[]> CongestionControlsAsync(TestNamespace pod, string filter)
    {
        string output = await TestTopology.ExecAsync(pod, "ss", "-tinH", "state", "established", filter);
        // Each socket is a line and then an indented info line: option flags (ts, sack, ecn...) and then the
        // congestion control's name, the first word that is neither a flag nor a key:value.
        string[] flags = ["ts", "sack", "ecn", "ecnseen", "fastopen", "mptcp"];
        return [.. output.Split('\n')
            .Where(line => line.StartsWith('\t') || line.StartsWith(' '))
            .Select(line => line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(word => !flags.Contains(word) && !word.Contains(':')) ?? "?")];
    }

    private static long PayloadTo(IReadOnlyList<CapturedPacket> packets, IPEndPoint destination)
    {
        long total = 0;
        foreach (CapturedPacket packet in packets)
        {
            if (packet.Destination.Equals(destination))
            {
                total += packet.PayloadLength;
            }
        }
        return total;
    }
}
