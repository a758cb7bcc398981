namespace Ztunnel.Authorization;

/// <summary>A PeerAuthentication: mTLS mode for a scope, with per-port overrides for selected workloads.</summary>
internal sealed class PeerAuthentication
{
    private readonly IReadOnlyDictionary<string, string>? _selector;

    public required PolicyRef Ref { get; init; }
    public IReadOnlyDictionary<string, string>? Selector
    {
        get => _selector;
        init
        {
            _selector = value is { Count: > 0 } ? value : null;
            SelectorLabels = value is null ? [] : [.. value];
        }
    }

    public KeyValuePair<string, string>[] SelectorLabels { get; private init; } = [];
    public MtlsMode Mode { get; init; }
    /// <summary><c>portLevelMtls</c>: workload (target) port to mode.</summary>
    public IReadOnlyDictionary<int, MtlsMode> PortModes { get; init; } = new Dictionary<int, MtlsMode>();
    public string Location { get; init; } = "";
}
