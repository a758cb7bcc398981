using System.Net;

namespace Ztunnel.Discovery;

/// <summary>A Kubernetes-style service: virtual IPs and ports in front of a set of workload endpoints.</summary>
internal sealed record Service
{
    public required string Name { get; init; }
    public required string Namespace { get; init; }
    public IReadOnlyList<IPAddress> Vips { get; init; } = [];
    public IReadOnlyList<ServicePort> Ports { get; init; } = [];
    public IReadOnlyList<ServiceEndpoint> Endpoints { get; init; } = [];

    /// <summary>The in-cluster DNS name, as Istio reports it in <c>destination_service</c>.</summary>
    public string Hostname(string clusterDomain = "cluster.local") => $"{Name}.{Namespace}.svc.{clusterDomain}";

    /// <summary>The port entry for <paramref name="port"/>, or null when the service does not expose it.</summary>
    public ServicePort? FindPort(int port)
    {
        foreach (var p in Ports)
        {
            if (p.Port == port)
            {
                return p;
            }
        }
        return null;
    }

    public override string ToString() => $"{Namespace}/{Name}";
}
