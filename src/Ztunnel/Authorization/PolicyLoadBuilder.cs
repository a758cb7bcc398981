using YamlDotNet.RepresentationModel;

namespace Ztunnel.Authorization;

/// <summary>Accumulates one load (a file or a directory): policies in input order, warnings, duplicate detection.</summary>
internal sealed class PolicyLoadBuilder
{
    private readonly Dictionary<string, string> _seen = new(StringComparer.Ordinal);

    public List<AuthorizationPolicy> AuthorizationPolicies { get; } = [];
    public List<PeerAuthentication> PeerAuthentications { get; } = [];
    public List<PolicyWarning> Warnings { get; } = [];

    /// <summary>Two objects with the same kind, namespace and name cannot both exist in Kubernetes; refuse the ambiguity.</summary>
    public void CheckDuplicate(YamlReader reader, string kind, PolicyMetadata metadata, YamlNode node)
    {
        string key = $"{kind} {metadata.Namespace}/{metadata.Name}";
        if (_seen.TryGetValue(key, out string? first))
        {
            throw reader.Error(node, "metadata.name", $"duplicate {key} (first defined at {first})");
        }
        _seen[key] = metadata.Location;
    }

    public PolicyLoadResult Build() => new()
    {
        AuthorizationPolicies = [.. AuthorizationPolicies],
        PeerAuthentications = [.. PeerAuthentications],
        Warnings = [.. Warnings],
    };
}
