using System.Net;
using Microsoft.Extensions.Logging;

namespace Ztunnel.Discovery;

/// <summary>The daemon's own settings from the local configuration file (defaults as in docs/config.md).</summary>
internal sealed record DaemonSettings
{
    public const string DefaultTrustDomain = "cluster.local";
    public const string DefaultRegistrationSocket = "/var/run/ztunnel/cni.sock";

    /// <summary>The node this daemon serves; its local workloads are the ones with this <c>node</c>.</summary>
    public string NodeName { get; init; } = Environment.MachineName;

    public string TrustDomain { get; init; } = DefaultTrustDomain;

    /// <summary>Directory of the built-in CA (root-cert.pem, root-key.pem); null when none is configured.</summary>
    public string? CaDirectory { get; init; }

    public TimeSpan CertificateLifetime { get; init; } = TimeSpan.FromHours(24);

    public string RegistrationSocket { get; init; } = DefaultRegistrationSocket;

    public IPEndPoint AdminAddress { get; init; } = new(IPAddress.Loopback, 15000);

    public IPEndPoint MetricsAddress { get; init; } = new(IPAddress.Any, 15020);

    public IPEndPoint ReadinessAddress { get; init; } = new(IPAddress.Any, 15021);

    /// <summary>Policies in this namespace without a selector apply mesh-wide (DESIGN §7).</summary>
    public string RootNamespace { get; init; } = "istio-system";

    /// <summary>The cluster name in metric labels (<c>source_cluster</c>, <c>destination_cluster</c>), as istiod's clusterID.</summary>
    public string ClusterId { get; init; } = Telemetry.TcpLabels.DefaultClusterId;

    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    public AccessLogFormat AccessLog { get; init; } = AccessLogFormat.Text;
}
