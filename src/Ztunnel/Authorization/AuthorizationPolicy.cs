namespace Ztunnel.Authorization;

/// <summary>An AuthorizationPolicy compiled to its L4 meaning. Immutable; built by <see cref="PolicyLoader"/>.</summary>
internal sealed class AuthorizationPolicy
{
    private readonly IReadOnlyDictionary<string, string>? _selector;

    public required PolicyRef Ref { get; init; }
    public required AuthorizationAction Action { get; init; }
    /// <summary><c>selector.matchLabels</c>; null when the policy has no selector (namespace or mesh wide).</summary>
    public IReadOnlyDictionary<string, string>? Selector
    {
        get => _selector;
        init
        {
            _selector = value is { Count: > 0 } ? value : null;
            SelectorLabels = value is null ? [] : [.. value];
        }
    }

    /// <summary>The selector as an array, so matching a workload does not allocate an enumerator.</summary>
    public KeyValuePair<string, string>[] SelectorLabels { get; private init; } = [];
    /// <summary>The <c>istio.io/dry-run</c> annotation: evaluated and reported, never enforced.</summary>
    public bool DryRun { get; init; }
    /// <summary>The rules kept at L4. An ALLOW with none matches nothing; a DENY with none denies nothing.</summary>
    public AuthorizationRule[] Rules { get; init; } = [];
    /// <summary>What was dropped or rewritten at L4 (L7 fields), for explanations: "rule 1 ignored: ...".</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
    /// <summary>Where the policy was read: <c>file:line</c>.</summary>
    public string Location { get; init; } = "";
}
