using System.Diagnostics;
using System.Net;
using Xunit.Abstractions;
using Ztunnel.Authorization;
using Ztunnel.Discovery;
using Ztunnel.Proxy;
using Ztunnel.Telemetry;
using Ztunnel.Tls;

namespace Ztunnel.Tests.Telemetry;

public sealed class ConnectionTelemetryTests(ITestOutputHelper output)
{
    private const string Opened = "istio_tcp_connections_opened_total";
    private const string Closed = "istio_tcp_connections_closed_total";
    private const string Failed = "istio_tcp_connections_failed_total";

    private readonly TelemetryFixture _fixture = new();

    [Fact]
    public void OutboundHbone_ThroughVip_HasIstioSourceLabels()
    {
        Open(TelemetryFixture.OutboundHbone());

        var labels = _fixture.Scrape().Labels(Opened);
        labels["reporter"].ShouldBe("source");
        labels["source_workload"].ShouldBe("sleep");
        labels["source_canonical_service"].ShouldBe("sleep");
        labels["source_canonical_revision"].ShouldBe("v1");
        labels["source_app"].ShouldBe("sleep");
        labels["source_version"].ShouldBe("v1");
        labels["source_workload_namespace"].ShouldBe("app");
        labels["source_principal"].ShouldBe("spiffe://cluster.local/ns/app/sa/sleep");
        labels["source_cluster"].ShouldBe("Kubernetes");
        labels["destination_service"].ShouldBe("httpbin.web.svc.cluster.local");
        labels["destination_service_name"].ShouldBe("httpbin");
        labels["destination_service_namespace"].ShouldBe("web");
        labels["destination_workload"].ShouldBe("httpbin");
        labels["destination_canonical_service"].ShouldBe("httpbin-canonical");
        labels["destination_canonical_revision"].ShouldBe("v2");
        labels["destination_workload_namespace"].ShouldBe("web");
        labels["destination_principal"].ShouldBe("spiffe://cluster.local/ns/web/sa/httpbin");
        labels["request_protocol"].ShouldBe("tcp");
        labels["response_flags"].ShouldBe("-");
        labels["connection_security_policy"].ShouldBe("mutual_tls");
        labels.Count.ShouldBe(23);
    }

    [Fact]
    public void InboundHbone_ReportsDestination_WithPeerPrincipal_AndGuessesServiceByTargetPort()
    {
        Open(TelemetryFixture.InboundHbone());

        var labels = _fixture.Scrape().Labels(Opened);
        labels["reporter"].ShouldBe("destination");
        labels["source_principal"].ShouldBe("spiffe://cluster.local/ns/app/sa/sleep");
        labels["destination_service"].ShouldBe("httpbin.web.svc.cluster.local");
        labels["connection_security_policy"].ShouldBe("mutual_tls");
    }

    [Fact]
    public void InboundPlaintext_FromUnknownClient_IsUnknownEverywhereOnTheSource()
    {
        Open(TelemetryFixture.InboundPlaintext());

        var labels = _fixture.Scrape().Labels(Opened);
        foreach (string name in new[] { "source_workload", "source_canonical_service", "source_canonical_revision", "source_workload_namespace", "source_principal", "source_app", "source_version", "source_cluster" })
        {
            labels[name].ShouldBe("unknown", name);
        }
        labels["connection_security_policy"].ShouldBe("unknown");
        labels["destination_workload"].ShouldBe("httpbin");
    }

    [Fact]
    public void OutboundPassthrough_ClaimsNoSourcePrincipal_AndNoDestination()
    {
        Open(TelemetryFixture.OutboundPassthrough());

        var labels = _fixture.Scrape().Labels(Opened);
        labels["source_workload"].ShouldBe("sleep");
        labels["source_principal"].ShouldBe("unknown");   // not mTLS: nothing was verified
        labels["destination_workload"].ShouldBe("unknown");
        labels["destination_service"].ShouldBe("unknown");
        labels["destination_principal"].ShouldBe("unknown");
        labels["connection_security_policy"].ShouldBe("unknown");
    }

    [Fact]
    public void Close_CountsClosedAndFinalBytes_SentIsResponse_ReceivedIsRequest()
    {
        TrackedConnection connection = Open(TelemetryFixture.OutboundHbone());
        connection.Counters.AddClientToServer(100);
        connection.Counters.AddServerToClient(2500);
        _fixture.Telemetry.Closed(connection, TimeSpan.FromMilliseconds(12));
        connection.Dispose();

        Exposition scrape = _fixture.Scrape();
        scrape.Value(Opened).ShouldBe(1);
        scrape.Value(Closed).ShouldBe(1);
        scrape.Value("istio_tcp_received_bytes_total").ShouldBe(100);
        scrape.Value("istio_tcp_sent_bytes_total").ShouldBe(2500);
    }

    [Fact]
    public void LiveConnection_BytesAdvanceBetweenScrapes_AndAreNotCountedTwiceAtClose()
    {
        TrackedConnection connection = Open(TelemetryFixture.OutboundHbone());
        connection.Counters.AddClientToServer(10);
        _fixture.Scrape().Value("istio_tcp_received_bytes_total").ShouldBe(10);

        connection.Counters.AddClientToServer(32);
        Exposition second = _fixture.Scrape();
        second.Value("istio_tcp_received_bytes_total").ShouldBe(42);
        second.Value(Closed).ShouldBe(0);

        connection.Counters.AddClientToServer(8);
        _fixture.Telemetry.Closed(connection, TimeSpan.FromSeconds(1));
        connection.Dispose();
        _fixture.Scrape().Value("istio_tcp_received_bytes_total").ShouldBe(50);
    }

    [Fact]
    public void Denied_CountsOpenedClosedAndFailedWithDeny_AndTheDecidingPolicy()
    {
        _fixture.Telemetry.Failed(TelemetryFixture.InboundHbone(), ConnectionFailure.Denied, "denied by DENY policy web/no-sleep rule 0", "web/no-sleep");
        _fixture.Telemetry.Failed(TelemetryFixture.InboundPlaintext(), ConnectionFailure.Denied, "no ALLOW matched", policy: null);

        Exposition scrape = _fixture.Scrape();
        scrape.Value(Opened, ("source_workload", "sleep"), ("response_flags", "-")).ShouldBe(1);
        scrape.Value(Closed, ("source_workload", "sleep"), ("response_flags", "DENY")).ShouldBe(1);
        scrape.Value(Failed, ("source_workload", "sleep"), ("response_flags", "DENY")).ShouldBe(1);
        scrape.Value(Closed, ("source_workload", "sleep"), ("response_flags", "-")).ShouldBe(0);
        scrape.Samples(Opened).ShouldNotContain(s => s.Labels["response_flags"] == "DENY");
        scrape.Value("ztunnel_authorization_denied_total", ("policy", "web/no-sleep"), ("destination_workload", "httpbin")).ShouldBe(1);
        scrape.Value("ztunnel_authorization_denied_total", ("policy", "none")).ShouldBe(1);
    }

    [Fact]
    public void CutByPolicyRecheck_ClosesWithDeny_AndCountsAgainstThePolicy()
    {
        TrackedConnection connection = Open(TelemetryFixture.InboundHbone());
        connection.Counters.AddClientToServer(7);

        connection.Close("policy changed: denied by DENY policy web/no-sleep rule 0", ConnectionFailure.Denied, "web/no-sleep");
        _fixture.Telemetry.Closed(connection, TimeSpan.FromSeconds(2));
        connection.Dispose();

        Exposition scrape = _fixture.Scrape();
        scrape.Value(Opened, ("response_flags", "-")).ShouldBe(1);
        scrape.Value(Closed, ("response_flags", "DENY")).ShouldBe(1);
        scrape.Value(Closed, ("response_flags", "-")).ShouldBe(0);
        scrape.Value("istio_tcp_received_bytes_total").ShouldBe(7);
        scrape.Value("ztunnel_authorization_denied_total", ("policy", "web/no-sleep")).ShouldBe(1);
    }

    [Fact]
    public void CutByDrain_ClosesNormally_WithoutADeny()
    {
        TrackedConnection connection = Open(TelemetryFixture.InboundHbone());

        connection.Close("daemon shutting down");
        _fixture.Telemetry.Closed(connection, TimeSpan.FromSeconds(2));
        connection.Dispose();

        Exposition scrape = _fixture.Scrape();
        scrape.Value(Closed, ("response_flags", "-")).ShouldBe(1);
        scrape.Samples("ztunnel_authorization_denied_total").ShouldBeEmpty();
    }

    [Theory]
    [InlineData(nameof(ConnectionFailure.ConnectFailed), "CONNECT")]
    [InlineData(nameof(ConnectionFailure.NoHealthyUpstream), "UH")]
    [InlineData(nameof(ConnectionFailure.BadTarget), "NR")]
    public void Failures_MapToResponseFlags(string failure, string flag)
    {
        _fixture.Telemetry.Failed(TelemetryFixture.OutboundHbone(), Enum.Parse<ConnectionFailure>(failure), "why", policy: null);

        _fixture.Scrape().Value(Failed, ("response_flags", flag)).ShouldBe(1);
    }

    [Fact]
    public void ConnectionsWithSameLabels_ShareOneSeries()
    {
        for (int i = 0; i < 5; i++)
        {
            Open(TelemetryFixture.OutboundHbone());
        }

        _fixture.Telemetry.Metrics.SeriesCount.ShouldBe(1);
        _fixture.Scrape().Value(Opened).ShouldBe(5);
    }

    [Fact]
    public void WorkloadRelabelled_TheNextConnection_CarriesTheNewLabels()
    {
        Open(TelemetryFixture.OutboundHbone());
        Workload relabelled = TelemetryFixture.Httpbin with
        {
            Labels = new Dictionary<string, string>(TelemetryFixture.Httpbin.Labels) { ["app.kubernetes.io/version"] = "v3" },
        };
        _fixture.Store.Publish(new MeshState([TelemetryFixture.Sleep, relabelled], [TelemetryFixture.HttpbinService], PolicySet.Empty));

        Open(TelemetryFixture.OutboundHbone());

        Exposition scrape = _fixture.Scrape();
        scrape.Value(Opened, ("destination_canonical_revision", "v2")).ShouldBe(1);
        scrape.Value(Opened, ("destination_canonical_revision", "v3")).ShouldBe(1);
    }

    [Fact]
    public void SameWorkloads_DifferentVerifiedPrincipals_CountApart()
    {
        ConnectionDescription asSleep = TelemetryFixture.InboundHbone();
        ConnectionDescription asOther = asSleep with { SourceIdentity = new SpiffeId(TelemetryFixture.TrustDomain, "app", "other") };

        Open(asSleep);
        Open(asOther);
        Open(asSleep);

        Exposition scrape = _fixture.Scrape();
        scrape.Value(Opened, ("source_principal", "spiffe://cluster.local/ns/app/sa/sleep")).ShouldBe(2);
        scrape.Value(Opened, ("source_principal", "spiffe://cluster.local/ns/app/sa/other")).ShouldBe(1);
        scrape.Samples(Opened).ShouldAllBe(s => s.Labels["source_workload"] == "sleep");
    }

    [Fact]
    public void MoreWorkloadPairsThanTheSeriesCacheHolds_EachCountsUnderItsOwnLabels()
    {
        // Three times the cache's slots, opened twice each in two passes: every second pass meets slots that
        // other pairs took over since, and must still count each connection under its own workload.
        int clients = 3 * TcpSeriesCache.Slots;
        var workloads = Enumerable.Range(0, clients).Select(i => TelemetryFixture.Sleep with
        {
            Uid = $"uid-client-{i}",
            Name = $"client-{i}",
            Addresses = [new IPAddress([10, 1, (byte)(i / 250), (byte)(1 + i % 250)])],
        }).ToList();
        _fixture.Store.Publish(new MeshState([.. workloads, TelemetryFixture.Httpbin], [TelemetryFixture.HttpbinService], PolicySet.Empty));

        for (int pass = 0; pass < 2; pass++)
        {
            foreach (Workload client in workloads)
            {
                Open(TelemetryFixture.OutboundHbone() with { Source = new IPEndPoint(client.Addresses[0], 40000), SourceWorkloadUid = client.Uid });
            }
        }

        Exposition scrape = _fixture.Scrape();
        scrape.Samples(Opened).Count().ShouldBe(clients);
        scrape.Samples(Opened).ShouldAllBe(s => s.Value == 2);
    }

    [Fact]
    public void OpenAndClose_OfAKnownLabelSet_AllocateOnlyThePerConnectionRecord()
    {
        ConnectionDescription description = TelemetryFixture.OutboundHbone();
        TrackedConnection warm = Open(description);   // first connection creates the series
        _fixture.Telemetry.Closed(warm, TimeSpan.Zero);
        TrackedConnection connection = _fixture.Tracker.Register(description);

        long before = GC.GetAllocatedBytesForCurrentThread();
        _fixture.Telemetry.Opened(connection);
        connection.Counters.AddClientToServer(1000);
        _fixture.Telemetry.Closed(connection, TimeSpan.FromMilliseconds(3));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // One ConnectionRecord (object header + peers + series + two longs); labels are rendered into a pooled
        // buffer and matched without a string.
        output.WriteLine($"open+close of a connection with a known label set: {allocated} bytes allocated");
        allocated.ShouldBeLessThanOrEqualTo(160, $"open+close allocated {allocated} bytes");
    }

    [Fact]
    public void Scrape_FoldsEveryLiveConnection()
    {
        const int connections = 10_000;
        var live = new List<TrackedConnection>(connections);
        for (int i = 0; i < connections; i++)
        {
            TrackedConnection connection = Open(i % 2 == 0 ? TelemetryFixture.OutboundHbone() : TelemetryFixture.InboundHbone());
            connection.Counters.AddClientToServer(3);
            live.Add(connection);
        }
        _fixture.Scrape(); // warm up

        foreach (TrackedConnection connection in live)
        {
            connection.Counters.AddClientToServer(1);
        }
        var watch = Stopwatch.StartNew();
        long before = GC.GetAllocatedBytesForCurrentThread();
        string text = _fixture.Registry.Scrape();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        watch.Stop();
        output.WriteLine($"scrape with {connections} live connections: {watch.Elapsed.TotalMilliseconds:F1} ms, {allocated} bytes allocated, {text.Length} chars");

        var scrape = new Exposition(text);
        scrape.Samples("istio_tcp_received_bytes_total").Sum(s => s.Value).ShouldBe(connections * 4);
    }

    private TrackedConnection Open(ConnectionDescription description)
    {
        TrackedConnection connection = _fixture.Tracker.Register(description);
        _fixture.Telemetry.Opened(connection);
        return connection;
    }
}
