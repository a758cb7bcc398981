using System.Net;
using Ztunnel.Tls;

namespace Ztunnel.Authorization;

/// <summary>The request's attributes normalized once per evaluation (IPv4-mapped IPv6 as IPv4, the trust-domain alias).</summary>
internal readonly struct MatchContext
{
    // Istio treats "cluster.local" in a policy principal as the mesh's own trust domain.
    private const string LocalTrustDomainAlias = "cluster.local";

    public MatchContext(in AuthorizationRequest request, string meshTrustDomain)
    {
        HasIdentity = request.SourceIdentity.HasValue;
        Identity = request.SourceIdentity.GetValueOrDefault();
        SourceIp = Normalize(request.SourceIp);
        DestinationIp = Normalize(request.DestinationIp)!;
        DestinationPort = request.DestinationPort;
        AliasTrustDomain = HasIdentity && Identity.TrustDomain == meshTrustDomain && meshTrustDomain != LocalTrustDomainAlias
            ? LocalTrustDomainAlias
            : null;
    }

    public bool HasIdentity { get; }
    public SpiffeId Identity { get; }
    public IPAddress? SourceIp { get; }
    public IPAddress DestinationIp { get; }
    public int DestinationPort { get; }
    /// <summary>"cluster.local" when the identity is in the mesh trust domain and that domain has another name.</summary>
    public string? AliasTrustDomain { get; }

    public bool PrincipalMatches(in StringMatch pattern) =>
        HasIdentity && (PrincipalMatcher.Matches(pattern, Identity, Identity.TrustDomain)
            || (AliasTrustDomain is not null && PrincipalMatcher.Matches(pattern, Identity, AliasTrustDomain)));

    public bool NamespaceMatches(in StringMatch pattern) => HasIdentity && pattern.Matches(Identity.Namespace);

    public bool ServiceAccountMatches(in ServiceAccountRef sa) =>
        HasIdentity && sa.Namespace == Identity.Namespace && sa.Name == Identity.ServiceAccount;

    private static IPAddress? Normalize(IPAddress? ip) => ip is { IsIPv4MappedToIPv6: true } ? ip.MapToIPv4() : ip;
}
