using System.Net;
using Ztunnel.Tls;

namespace Ztunnel.Discovery;

/// <summary>A pod (or VM) as the daemon sees it: who it is, where it runs and how to reach it.</summary>
internal sealed record Workload
{
    public required string Uid { get; init; }
    public required string Name { get; init; }
    public required string Namespace { get; init; }
    public string ServiceAccount { get; init; } = "default";
    public IReadOnlyList<IPAddress> Addresses { get; init; } = [];
    public string Node { get; init; } = "";
    public IReadOnlyDictionary<string, string> Labels { get; init; } = EmptyLabels;
    public WorkloadProtocol Protocol { get; init; } = WorkloadProtocol.Hbone;

    private static readonly IReadOnlyDictionary<string, string> EmptyLabels = new Dictionary<string, string>();

    /// <summary>The identity the workload's certificate carries in <paramref name="trustDomain"/>.</summary>
    public SpiffeId GetIdentity(string trustDomain) => new(trustDomain, Namespace, ServiceAccount);

    public override string ToString() => $"{Namespace}/{Name}";
}
