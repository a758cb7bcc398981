using System.Net;
using System.Net.Sockets;
using Ztunnel.E2E.Mesh;

namespace Ztunnel.E2E.Authorization;

/// <summary>
/// The two-node mesh of <see cref="AuthorizationE2ETests"/>: server-b admits only a service account
/// nobody has (so the client is denied), and server-a accepts mTLS only (STRICT).
/// </summary>
public sealed class AuthorizationMeshFixture() : MeshFixture("e2e-authz")
{
    public const string DenyClient = "[" + StrictServerA + ", " + AllowOnlyNobody + "]";
    public const string AllowClient = "[" + StrictServerA + ", " + AllowClientPolicy + "]";
    public const string DenyClientStrictEverywhere = "[" + StrictServerA + ", " + AllowOnlyNobody + ", " + StrictNamespace + "]";
    public const string AllowClientOn8080 = "[" + StrictServerA + ", " + AllowClientOn8080Policy + "]";

    private const string StrictServerA =
        "{apiVersion: security.istio.io/v1, kind: PeerAuthentication, metadata: {name: strict-server-a, namespace: e2e}, " +
        "spec: {selector: {matchLabels: {pod: server-a}}, mtls: {mode: STRICT}}}";

    private const string StrictNamespace =
        "{apiVersion: security.istio.io/v1, kind: PeerAuthentication, metadata: {name: strict, namespace: e2e}, spec: {mtls: {mode: STRICT}}}";

    private const string AllowOnlyNobody =
        "{apiVersion: security.istio.io/v1, kind: AuthorizationPolicy, metadata: {name: server-b-allow, namespace: e2e}, " +
        "spec: {selector: {matchLabels: {pod: server-b}}, action: ALLOW, rules: [{from: [{source: {principals: [cluster.local/ns/e2e/sa/nobody]}}]}]}}";

    private const string AllowClientPolicy =
        "{apiVersion: security.istio.io/v1, kind: AuthorizationPolicy, metadata: {name: server-b-allow, namespace: e2e}, " +
        "spec: {selector: {matchLabels: {pod: server-b}}, action: ALLOW, rules: [{from: [{source: {principals: [cluster.local/ns/e2e/sa/client]}}]}]}}";

    private const string AllowClientOn8080Policy =
        "{apiVersion: security.istio.io/v1, kind: AuthorizationPolicy, metadata: {name: server-b-allow, namespace: e2e}, " +
        "spec: {selector: {matchLabels: {pod: server-b}}, action: ALLOW, rules: [{from: [{source: {principals: [cluster.local/ns/e2e/sa/client]}}], to: [{operation: {ports: [\"8080\"]}}]}]}}";

    protected override string InitialPolicies => DenyClient;
}

/// <summary>
/// Policies from the local config enforced by real daemons across nodes: what the client and the server
/// app notice when a connection is denied, allowed after a config edit (no restart), or cut by one.
/// Every test leaves the config as it found it (<see cref="AuthorizationMeshFixture.DenyClient"/>).
/// </summary>
public sealed class AuthorizationE2ETests(AuthorizationMeshFixture mesh) : IClassFixture<AuthorizationMeshFixture>
{
    [Fact]
    public async Task PolicyInConfig_DeniesCrossNode_ClientSeesClose_AppNeverSeesIt_DenyIsCounted()
    {
        int accepted = mesh.AppB.AcceptedCount;
        int mark = mesh.DaemonB.LineCount;
        MetricsScrape before = await mesh.ScrapeAsync('b');

        bool closed = await mesh.ClientApp.IsClosedWithoutAnswerAsync(mesh.AppB.EchoEndPoint, "let me in");

        closed.ShouldBeTrue("the client got an answer through a denied connection");
        MetricsScrape after = await mesh.ScrapeAsync('b');
        string[] deniedHere = ["reporter=\"destination\"", "response_flags=\"DENY\"", "destination_workload=\"server-b\"", "source_principal=\"spiffe://cluster.local/ns/e2e/sa/client\""];
        (after.Sum("istio_tcp_connections_failed_total", deniedHere) - before.Sum("istio_tcp_connections_failed_total", deniedHere))
            .ShouldBe(1, after.Text);
        (after.Sum("ztunnel_authorization_denied_total") - before.Sum("ztunnel_authorization_denied_total")).ShouldBe(1, after.Text);
        string denied = await mesh.DaemonB.WaitForLogAsync("Denied ", mark);
        denied.ShouldContain($"{mesh.Client.Address}:");
        denied.ShouldContain("spiffe://cluster.local/ns/e2e/sa/client");
        denied.ShouldContain($"{mesh.AppB.EchoEndPoint}: denied: no ALLOW matched");
        mesh.DaemonB.LinesSince(mark).Count(line => line.Contains("Denied ", StringComparison.Ordinal)).ShouldBe(1);
        mesh.AppB.AcceptedCount.ShouldBe(accepted, "the server app saw a denied connection");
    }

    [Fact]
    public async Task EditingTheConfig_AllowsTheConnection_WithoutRestart()
    {
        int pid = mesh.DaemonB.ProcessId;
        (await mesh.ClientApp.IsClosedWithoutAnswerAsync(mesh.AppB.EchoEndPoint, "denied first")).ShouldBeTrue();
        try
        {
            await mesh.RewritePoliciesAsync(AuthorizationMeshFixture.AllowClient);

            EchoReply reply = await mesh.ClientApp.EchoAsync(mesh.AppB.EchoEndPoint, "allowed now");

            reply.Server.ShouldBe("server-b");
            reply.SeenClient.ShouldBe(mesh.Client.Address);
            reply.Echoed.ShouldBe("allowed now");
            mesh.DaemonB.ProcessId.ShouldBe(pid);
        }
        finally
        {
            await mesh.RewritePoliciesAsync(AuthorizationMeshFixture.DenyClient);
        }
    }

    [Fact]
    public async Task EditingTheConfig_ToDeny_ClosesAnOpenConnection()
    {
        await mesh.RewritePoliciesAsync(AuthorizationMeshFixture.AllowClient);
        try
        {
            using Socket open = await mesh.ClientApp.ConnectAsync(mesh.AppB.EchoEndPoint);
            await SocketText.WriteLineAsync(open, "still allowed");
            (await SocketText.ReadLineAsync(open)).ShouldBe($"server-b {mesh.Client.Address}");
            (await SocketText.ReadLineAsync(open)).ShouldBe("still allowed");

            await mesh.RewritePoliciesAsync(AuthorizationMeshFixture.DenyClient);

            // The daemon re-checks live connections against the new policies and cuts this one.
            (await PodClient.ReadRestAsync(open)).ShouldBeEmpty();
        }
        finally
        {
            await mesh.RewritePoliciesAsync(AuthorizationMeshFixture.DenyClient);
        }
    }

    [Fact]
    public async Task StrictPeerAuthentication_DeniesClientOutsideTheMesh_MeshedClientStillAllowed()
    {
        int accepted = mesh.AppA.AcceptedCount;
        int mark = mesh.DaemonA.LineCount;
        MetricsScrape before = await mesh.ScrapeAsync('a');

        bool closed = await mesh.OutsiderApp.IsClosedWithoutAnswerAsync(mesh.AppA.EchoEndPoint, "plaintext");

        closed.ShouldBeTrue("a plaintext client got an answer from a STRICT workload");
        MetricsScrape after = await mesh.ScrapeAsync('a');
        string[] failedHere = ["response_flags=\"DENY\"", "destination_workload=\"server-a\""];
        (after.Sum("istio_tcp_connections_failed_total", failedHere) - before.Sum("istio_tcp_connections_failed_total", failedHere))
            .ShouldBe(1, after.Text);
        string[] deniedByStrict = ["policy=\"e2e/strict-server-a\"", "destination_workload=\"server-a\""];
        (after.Sum("ztunnel_authorization_denied_total", deniedByStrict) - before.Sum("ztunnel_authorization_denied_total", deniedByStrict))
            .ShouldBe(1, after.Text);
        string denied = await mesh.DaemonA.WaitForLogAsync("Denied ", mark);
        denied.ShouldContain($"{mesh.Outsider.Address}:");
        denied.ShouldContain("(no identity)");
        denied.ShouldContain("PeerAuthentication e2e/strict-server-a requires mTLS (STRICT)");
        mesh.AppA.AcceptedCount.ShouldBe(accepted, "the server app saw a denied plaintext connection");
        EchoReply meshed = await mesh.ClientApp.EchoAsync(mesh.AppA.EchoEndPoint, "with mTLS");
        meshed.SeenClient.ShouldBe(mesh.Client.Address);
        meshed.Echoed.ShouldBe("with mTLS");
    }

    [Fact]
    public async Task PortsInAPolicy_AreTheWorkloadsTargetPorts_ThroughAServiceVipToo()
    {
        await mesh.RewritePoliciesAsync(AuthorizationMeshFixture.AllowClientOn8080);
        try
        {
            // server-degraded's only healthy endpoint is server-b: VIP port 80 -> target port 8080, allowed.
            EchoReply viaVip = await mesh.ClientApp.EchoAsync(MeshFixture.DegradedServiceVip, "via the VIP");
            viaVip.Server.ShouldBe("server-b");
            viaVip.Echoed.ShouldBe("via the VIP");
            (await mesh.ClientApp.EchoAsync(mesh.AppB.EchoEndPoint, "direct")).Echoed.ShouldBe("direct");

            int mark = mesh.DaemonB.LineCount;
            (await mesh.ClientApp.IsClosedWithoutAnswerAsync(mesh.AppB.HashEndPoint, "another port")).ShouldBeTrue();
            (await mesh.DaemonB.WaitForLogAsync("Denied ", mark)).ShouldContain($"{mesh.AppB.HashEndPoint}: denied");
        }
        finally
        {
            await mesh.RewritePoliciesAsync(AuthorizationMeshFixture.DenyClient);
        }
    }

    [Fact]
    public async Task StrictPeerAuthentication_DeniesClientOutsideTheMesh_OverIpv6Too()
    {
        int accepted = mesh.AppA.AcceptedCount;

        bool closed = await mesh.OutsiderApp.IsClosedWithoutAnswerAsync(new IPEndPoint(mesh.ServerA.Address6, PodServer.EchoPort), "plaintext over IPv6");

        closed.ShouldBeTrue("a plaintext IPv6 client got an answer from a STRICT workload: IPv6 bypasses the mesh");
        mesh.AppA.AcceptedCount.ShouldBe(accepted, "the server app saw a denied plaintext connection");
    }

    [Fact]
    public async Task MakingTheNamespaceStrict_ClosesAnOpenPlaintextConnection()
    {
        // The client pod has no policy of its own: it takes plaintext until the namespace-wide STRICT arrives.
        await using PodServer app = await PodServer.StartAsync(mesh.Runner, mesh.Client.Netns, "client");
        using Socket open = await mesh.OutsiderApp.ConnectAsync(app.EchoEndPoint);
        await SocketText.WriteLineAsync(open, "plaintext");
        (await SocketText.ReadLineAsync(open)).ShouldBe($"client {mesh.Outsider.Address}");
        (await SocketText.ReadLineAsync(open)).ShouldBe("plaintext");
        try
        {
            int mark = mesh.DaemonA.LineCount;
            await mesh.RewritePoliciesAsync(AuthorizationMeshFixture.DenyClientStrictEverywhere);

            (await PodClient.ReadRestAsync(open)).ShouldBeEmpty();
            (await mesh.DaemonA.WaitForLogAsync("Denied ", mark)).ShouldContain("PeerAuthentication e2e/strict requires mTLS (STRICT)");
            (await mesh.OutsiderApp.IsClosedWithoutAnswerAsync(app.EchoEndPoint, "again")).ShouldBeTrue();
        }
        finally
        {
            await mesh.RewritePoliciesAsync(AuthorizationMeshFixture.DenyClient);
        }
    }
}
