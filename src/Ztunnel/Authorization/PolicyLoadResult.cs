namespace Ztunnel.Authorization;

/// <summary>What <see cref="PolicyLoader"/> read: compiled policies in input order, and warnings to log once.</summary>
internal sealed class PolicyLoadResult
{
    public required IReadOnlyList<AuthorizationPolicy> AuthorizationPolicies { get; init; }
    public required IReadOnlyList<PeerAuthentication> PeerAuthentications { get; init; }
    public required IReadOnlyList<PolicyWarning> Warnings { get; init; }

    /// <summary>Builds the evaluation index. See <see cref="PolicySet.Create"/>.</summary>
    public PolicySet ToPolicySet(string rootNamespace = PolicySet.DefaultRootNamespace, string trustDomain = PolicySet.DefaultTrustDomain) =>
        PolicySet.Create(AuthorizationPolicies, PeerAuthentications, rootNamespace, trustDomain);
}
