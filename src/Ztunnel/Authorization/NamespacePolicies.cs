namespace Ztunnel.Authorization;

/// <summary>The policies of one (non-root) namespace, split by scope so evaluation only tests selectors where needed.</summary>
internal sealed class NamespacePolicies
{
    public static readonly NamespacePolicies Empty = new();

    /// <summary>No selector: apply to every workload of the namespace.</summary>
    public AuthorizationPolicy[] NamespaceWide { get; init; } = [];
    /// <summary>With <c>selector.matchLabels</c>: apply to matching workloads of the namespace.</summary>
    public AuthorizationPolicy[] Selected { get; init; } = [];
    public PeerAuthentication? NamespacePeerAuthentication { get; init; }
    public PeerAuthentication[] WorkloadPeerAuthentications { get; init; } = [];
}
