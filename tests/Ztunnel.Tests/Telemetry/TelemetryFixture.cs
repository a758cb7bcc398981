using System.Net;
using Microsoft.Extensions.Logging;
using Ztunnel.Discovery;
using Ztunnel.Proxy;
using Ztunnel.Telemetry;
using Ztunnel.Tls;

namespace Ztunnel.Tests.Telemetry;

/// <summary>A small mesh (sleep -> httpbin service) and a connection telemetry over it.</summary>
internal sealed class TelemetryFixture
{
    public const string TrustDomain = "cluster.local";

    public static readonly Workload Sleep = new()
    {
        Uid = "uid-sleep",
        Name = "sleep",
        Namespace = "app",
        ServiceAccount = "sleep",
        Addresses = [IPAddress.Parse("10.0.0.1")],
        Labels = new Dictionary<string, string> { ["app"] = "sleep", ["version"] = "v1" },
    };

    public static readonly Workload Httpbin = new()
    {
        Uid = "uid-httpbin",
        Name = "httpbin",
        Namespace = "web",
        ServiceAccount = "httpbin",
        Addresses = [IPAddress.Parse("10.0.0.2")],
        Labels = new Dictionary<string, string>
        {
            ["service.istio.io/canonical-name"] = "httpbin-canonical",
            ["app"] = "ignored",
            ["app.kubernetes.io/version"] = "v2",
        },
    };

    public static readonly Service HttpbinService = new()
    {
        Name = "httpbin",
        Namespace = "web",
        Vips = [IPAddress.Parse("10.96.0.10")],
        Ports = [new ServicePort(80, 8080)],
        Endpoints = [new ServiceEndpoint { WorkloadUid = "uid-httpbin" }],
    };

    public TelemetryFixture(ILoggerFactory? loggers = null)
    {
        Store.Publish(new MeshState([Sleep, Httpbin], [HttpbinService], Ztunnel.Authorization.PolicySet.Empty));
        Telemetry = new ConnectionTelemetry(Store, Tracker, TrustDomain, loggers is null ? null : new AccessLog(loggers));
        Registry.Add(Telemetry);
    }

    public StateStore Store { get; } = new();
    public ConnectionTracker Tracker { get; } = new(TimeProvider.System);
    public ConnectionTelemetry Telemetry { get; }
    public MetricsRegistry Registry { get; } = new();

    public Exposition Scrape() => new(Registry.Scrape());

    /// <summary>sleep -> httpbin's VIP, sent over HBONE with sleep's certificate.</summary>
    public static ConnectionDescription OutboundHbone() => new(
        ConnectionDirection.Outbound,
        new IPEndPoint(IPAddress.Parse("10.0.0.1"), 40000),
        new IPEndPoint(IPAddress.Parse("10.0.0.2"), 8080),
        Sleep.GetIdentity(TrustDomain),
        Httpbin.GetIdentity(TrustDomain),
        Sleep.Uid, Httpbin.Uid, Httpbin.Namespace, HttpbinService);

    /// <summary>httpbin receiving sleep's HBONE tunnel; the source identity is the verified peer certificate.</summary>
    public static ConnectionDescription InboundHbone() => new(
        ConnectionDirection.InboundHbone,
        new IPEndPoint(IPAddress.Parse("10.0.0.1"), 40000),
        new IPEndPoint(IPAddress.Parse("10.0.0.2"), 8080),
        Sleep.GetIdentity(TrustDomain),
        Httpbin.GetIdentity(TrustDomain),
        Sleep.Uid, Httpbin.Uid, Httpbin.Namespace);

    /// <summary>An unknown client outside the mesh reaching httpbin in plaintext.</summary>
    public static ConnectionDescription InboundPlaintext() => new(
        ConnectionDirection.InboundPlaintext,
        new IPEndPoint(IPAddress.Parse("192.0.2.7"), 50000),
        new IPEndPoint(IPAddress.Parse("10.0.0.2"), 8080),
        SourceIdentity: null,
        Httpbin.GetIdentity(TrustDomain),
        null, Httpbin.Uid, Httpbin.Namespace);

    /// <summary>sleep to somewhere outside the mesh, passed through as plain TCP (its identity is not presented).</summary>
    public static ConnectionDescription OutboundPassthrough() => new(
        ConnectionDirection.Outbound,
        new IPEndPoint(IPAddress.Parse("10.0.0.1"), 40001),
        new IPEndPoint(IPAddress.Parse("203.0.113.9"), 443),
        Sleep.GetIdentity(TrustDomain),
        DestinationIdentity: null,
        Sleep.Uid, null);

    public static SpiffeId SleepId => Sleep.GetIdentity(TrustDomain);
}
