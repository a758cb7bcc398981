using System.Net;

namespace Ztunnel.Discovery;

/// <summary>
/// One backend of a service: a workload (by uid), optionally the one of its addresses to use,
/// whether it is ready, and its share of new connections relative to the other endpoints.
/// </summary>
internal sealed record ServiceEndpoint
{
    public required string WorkloadUid { get; init; }

    /// <summary>The address to connect to; null means the workload's first address.</summary>
    public IPAddress? TargetAddress { get; init; }

    public bool Healthy { get; init; } = true;

    public int Weight { get; init; } = 1;
}
