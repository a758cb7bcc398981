namespace Ztunnel.Discovery;

/// <summary>
/// The outcome of (re)loading the local configuration file: the new configuration, or the errors
/// that made the daemon keep its previous state.
/// </summary>
internal sealed record ConfigReloadResult(string Source, LocalConfig? Config, IReadOnlyList<ConfigDiagnostic> Errors)
{
    public bool Succeeded => Config is not null;
}
