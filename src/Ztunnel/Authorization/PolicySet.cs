
namespace Ztunnel.Authorization;

/// <summary>
/// An immutable, indexed snapshot of every AuthorizationPolicy and PeerAuthentication, built once per change and
/// read by <see cref="AuthorizationEvaluator"/> per connection. Swap the whole set on a policy change.
/// </summary>
internal sealed class PolicySet
{
    public const string DefaultRootNamespace = "istio-system";
    public const string DefaultTrustDomain = "cluster.local";

    public static readonly PolicySet Empty = Create([], [], DefaultRootNamespace, DefaultTrustDomain);

    // Not FrozenDictionary: see MeshState (System.Collections.Immutable costs ~1 MiB resident).
    private readonly Dictionary<string, NamespacePolicies> _byNamespace;

    private PolicySet(
        string rootNamespace,
        string trustDomain,
        IReadOnlyList<AuthorizationPolicy> all,
        IReadOnlyList<PeerAuthentication> allPeer,
        AuthorizationPolicy[] mesh,
        AuthorizationPolicy[] meshSelected,
        PeerAuthentication? meshPeer,
        Dictionary<string, NamespacePolicies> byNamespace,
        IReadOnlyList<PolicyWarning> warnings)
    {
        RootNamespace = rootNamespace;
        TrustDomain = trustDomain;
        AuthorizationPolicies = all;
        PeerAuthentications = allPeer;
        MeshWide = mesh;
        MeshSelected = meshSelected;
        MeshPeerAuthentication = meshPeer;
        _byNamespace = byNamespace;
        Warnings = warnings;
    }

    public string RootNamespace { get; }
    /// <summary>The mesh trust domain; policy principals written with <c>cluster.local</c> mean this domain (as in Istio).</summary>
    public string TrustDomain { get; }
    public IReadOnlyList<AuthorizationPolicy> AuthorizationPolicies { get; }
    public IReadOnlyList<PeerAuthentication> PeerAuthentications { get; }
    /// <summary>Root namespace policies without selector.</summary>
    public AuthorizationPolicy[] MeshWide { get; }
    /// <summary>Root namespace policies with a selector: matching workloads in every namespace.</summary>
    public AuthorizationPolicy[] MeshSelected { get; }
    public PeerAuthentication? MeshPeerAuthentication { get; }
    /// <summary>Things ignored while indexing (a root-namespace PeerAuthentication with a selector, duplicates).</summary>
    public IReadOnlyList<PolicyWarning> Warnings { get; }

    public NamespacePolicies ForNamespace(string ns) =>
        _byNamespace.TryGetValue(ns, out var policies) ? policies : NamespacePolicies.Empty;

    public static PolicySet Create(
        IEnumerable<AuthorizationPolicy> authorizationPolicies,
        IEnumerable<PeerAuthentication> peerAuthentications,
        string rootNamespace = DefaultRootNamespace,
        string trustDomain = DefaultTrustDomain)
    {
        ArgumentException.ThrowIfNullOrEmpty(rootNamespace);
        ArgumentException.ThrowIfNullOrEmpty(trustDomain);
        var all = authorizationPolicies.ToArray();
        var allPeer = peerAuthentications.ToArray();
        var warnings = new List<PolicyWarning>();
        var mesh = new List<AuthorizationPolicy>();
        var meshSelected = new List<AuthorizationPolicy>();
        var namespaces = new Dictionary<string, Builder>(StringComparer.Ordinal);

        foreach (var policy in all)
        {
            bool root = policy.Ref.Namespace == rootNamespace;
            bool selector = policy.Selector is { Count: > 0 };
            (root ? (selector ? meshSelected : mesh) : selector ? Get(policy.Ref.Namespace).Selected : Get(policy.Ref.Namespace).NamespaceWide).Add(policy);
        }

        PeerAuthentication? meshPeer = null;
        foreach (var peer in allPeer)
        {
            bool root = peer.Ref.Namespace == rootNamespace;
            bool selector = peer.Selector is { Count: > 0 };
            if (root && selector)
            {
                warnings.Add(Warn(peer, "PeerAuthentication with a selector in the root namespace is ignored"));
            }
            else if (root)
            {
                if (meshPeer is null)
                {
                    meshPeer = peer;
                }
                else
                {
                    warnings.Add(Warn(peer, $"ignored: mesh-wide PeerAuthentication {meshPeer.Ref} already applies (only one per scope)"));
                }
            }
            else if (selector)
            {
                Get(peer.Ref.Namespace).WorkloadPeer.Add(peer);
            }
            else
            {
                var builder = Get(peer.Ref.Namespace);
                if (builder.NamespacePeer is null)
                {
                    builder.NamespacePeer = peer;
                }
                else
                {
                    warnings.Add(Warn(peer, $"ignored: namespace-wide PeerAuthentication {builder.NamespacePeer.Ref} already applies (only one per scope)"));
                }
            }
        }

        var byNamespace = new Dictionary<string, NamespacePolicies>(StringComparer.Ordinal);
        foreach (var (ns, b) in namespaces)
        {
            byNamespace[ns] = new NamespacePolicies
            {
                NamespaceWide = [.. b.NamespaceWide],
                Selected = [.. b.Selected],
                NamespacePeerAuthentication = b.NamespacePeer,
                WorkloadPeerAuthentications = [.. b.WorkloadPeer],
            };
        }
        return new PolicySet(rootNamespace, trustDomain, all, allPeer, [.. mesh], [.. meshSelected], meshPeer, byNamespace, warnings);

        Builder Get(string ns)
        {
            if (!namespaces.TryGetValue(ns, out var builder))
            {
                builder = new Builder();
                namespaces[ns] = builder;
            }
            return builder;
        }
    }

    private static PolicyWarning Warn(PeerAuthentication peer, string message)
    {
        int colon = peer.Location.LastIndexOf(':');
        string source = colon > 0 ? peer.Location[..colon] : peer.Location;
        int line = colon > 0 && int.TryParse(peer.Location.AsSpan(colon + 1), out int l) ? l : 0;
        return new PolicyWarning(source, line, $"PeerAuthentication {peer.Ref}", message);
    }

    private sealed class Builder
    {
        public List<AuthorizationPolicy> NamespaceWide { get; } = [];
        public List<AuthorizationPolicy> Selected { get; } = [];
        public PeerAuthentication? NamespacePeer { get; set; }
        public List<PeerAuthentication> WorkloadPeer { get; } = [];
    }
}
