using System.Reflection;
using Microsoft.Extensions.Logging;
using Ztunnel.Admin;
using Ztunnel.Admin.Http;
using Ztunnel.Capture.Registration;
using Ztunnel.Discovery;
using Ztunnel.Identity;
using Ztunnel.Proxy;
using Ztunnel.Telemetry;
using Ztunnel.Tls;

namespace Ztunnel.Daemon;

/// <summary>
/// The daemon's observability (DESIGN §9): the connection observer the proxy calls (metrics and access log), and
/// the admin (127.0.0.1:15000), metrics (:15020) and readiness (:15021) endpoints.
/// </summary>
internal sealed partial class DaemonTelemetry : IAsyncDisposable
{
    private readonly DaemonSettings _settings;
    private readonly DaemonLogging _logging;
    private readonly StateStore _store;
    private readonly ConnectionTracker _connections;
    private readonly List<HttpServer> _servers = [];

    public DaemonTelemetry(DaemonSettings settings, StateStore store, ConnectionTracker connections, DaemonLogging logging)
    {
        _settings = settings;
        _store = store;
        _connections = connections;
        _logging = logging;
        AccessLog? accessLog = settings.AccessLog == AccessLogFormat.Off ? null : new AccessLog(logging.Factory);
        Connections = new ConnectionTelemetry(store, connections, settings.TrustDomain, accessLog, settings.ClusterId);
        Metrics.Add(Connections);
        Metrics.Add(new ProcessMetrics(Version));
    }

    public static string Version { get; } =
        typeof(DaemonTelemetry).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>For <see cref="ProxyContext.Observer"/>.</summary>
    public ConnectionTelemetry Connections { get; }

    public MetricsRegistry Metrics { get; } = new();

    /// <summary>Starts the three endpoints; throws <see cref="IOException"/> naming the one that cannot listen.</summary>
    /// <param name="quit">Starts the graceful drain (admin /quitquitquit).</param>
    /// <param name="draining">True once the drain started (readiness then answers 503).</param>
    public void Start(PodRegistry registry, CertificateManager certificates, Action quit, Func<bool> draining)
    {
        Metrics.Add(new PodMetrics(registry.List));
        var readiness = new ReadinessEndpoint(_store, registry.List, draining);
        var admin = new AdminEndpoint(new AdminSources
        {
            NodeName = _settings.NodeName,
            State = _store,
            Pods = registry.List,
            Certificates = () => Certificates(certificates),
            LiveConnections = () => _connections.Count,
            LogLevel = _logging.Level,
            Quit = quit,
        });
        ILoggerFactory loggers = _logging.Factory;
        _servers.Add(HttpServer.Start("admin", _settings.AdminAddress, admin.HandleAsync, loggers));
        _servers.Add(HttpServer.Start("metrics", _settings.MetricsAddress, new MetricsEndpoint(Metrics).HandleAsync, loggers));
        _servers.Add(HttpServer.Start("readiness", _settings.ReadinessAddress, readiness.HandleAsync, loggers));
        LogListening(loggers.CreateLogger<DaemonTelemetry>(), _servers[0].LocalEndPoint, _servers[1].LocalEndPoint, _servers[2].LocalEndPoint, _settings.AccessLog);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (HttpServer server in _servers)
        {
            await server.DisposeAsync();
        }
        _servers.Clear();
    }

    [LoggerMessage(EventId = 110, Level = LogLevel.Information, Message = "Admin on http://{Admin}, metrics on http://{Metrics}/metrics, readiness on http://{Readiness}/healthz/ready; access log {AccessLog}")]
    private static partial void LogListening(ILogger logger, System.Net.EndPoint admin, System.Net.EndPoint metrics, System.Net.EndPoint readiness, AccessLogFormat accessLog);

    private static List<ConfigDump.CertificateEntry> Certificates(CertificateManager certificates)
    {
        var entries = new List<ConfigDump.CertificateEntry>();
        foreach (SpiffeId identity in certificates.Identities)
        {
            WorkloadCertificate? current = certificates.TryGetCurrent(identity);
            entries.Add(current is null
                ? new ConfigDump.CertificateEntry(identity.ToString(), "pending", null, null)
                : new ConfigDump.CertificateEntry(identity.ToString(), "valid", current.NotBefore, current.NotAfter));
        }
        return entries;
    }
}
