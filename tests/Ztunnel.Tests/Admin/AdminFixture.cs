using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Admin;
using Ztunnel.Admin.Http;
using Ztunnel.Capture.Registration;
using Ztunnel.Daemon.Logging;
using Ztunnel.Discovery;
using Ztunnel.Telemetry;

namespace Ztunnel.Tests.Admin;

/// <summary>The admin, metrics and readiness endpoints on real loopback sockets (port 0), over a test registry.</summary>
internal sealed class AdminFixture : IAsyncDisposable
{
    private readonly List<HttpServer> _servers = [];

    private AdminFixture()
    {
        Registry = new PodRegistry(Lifecycle, NullLogger<PodRegistry>.Instance);
    }

    public StateStore Store { get; } = new();
    public GatedLifecycle Lifecycle { get; } = new();
    public PodRegistry Registry { get; }
    public LogLevelSwitch Level { get; } = new(LogLevel.Information);
    public MetricsRegistry Metrics { get; } = new();
    public int QuitCalls;
    public HttpClient Admin { get; private set; } = null!;
    public HttpClient MetricsClient { get; private set; } = null!;
    public HttpClient Readiness { get; private set; } = null!;
    public HttpServer MetricsServer => _servers[1];

    public static Task<AdminFixture> StartAsync(IReadOnlyList<ConfigDump.CertificateEntry>? certificates = null)
    {
        var fixture = new AdminFixture();
        var sources = new AdminSources
        {
            NodeName = "node-1",
            State = fixture.Store,
            Pods = fixture.Registry.List,
            Certificates = () => certificates ?? [],
            LogLevel = fixture.Level,
            Quit = () => Interlocked.Increment(ref fixture.QuitCalls),
        };
        var loopback = new IPEndPoint(IPAddress.Loopback, 0);
        HttpServer admin = HttpServer.Start("admin", loopback, new AdminEndpoint(sources).HandleAsync, NullLoggerFactory.Instance);
        fixture._servers.Add(admin);
        HttpServer metrics = HttpServer.Start("metrics", loopback, new MetricsEndpoint(fixture.Metrics).HandleAsync, NullLoggerFactory.Instance);
        fixture._servers.Add(metrics);
        HttpServer readiness = HttpServer.Start("readiness", loopback,
            new ReadinessEndpoint(fixture.Store, fixture.Registry.List).HandleAsync, NullLoggerFactory.Instance);
        fixture._servers.Add(readiness);
        fixture.Admin = Client(admin);
        fixture.MetricsClient = Client(metrics);
        fixture.Readiness = Client(readiness);
        return Task.FromResult(fixture);
    }

    public async ValueTask DisposeAsync()
    {
        Lifecycle.Release();
        Admin?.Dispose();
        MetricsClient?.Dispose();
        Readiness?.Dispose();
        foreach (HttpServer server in _servers)
        {
            await server.DisposeAsync();
        }
    }

    private static HttpClient Client(HttpServer server) => new()
    {
        BaseAddress = new Uri($"http://{server.LocalEndPoint}"),
        Timeout = TimeSpan.FromSeconds(30),
    };
}
