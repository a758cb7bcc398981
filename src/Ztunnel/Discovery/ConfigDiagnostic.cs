namespace Ztunnel.Discovery;

/// <summary>
/// One problem found in a configuration file, located for the user:
/// <c>config.yaml:12: workloads[1].ips[0]: 'x' is not an IP address</c>.
/// </summary>
internal sealed record ConfigDiagnostic(string Source, int Line, string Path, string Message)
{
    public override string ToString() =>
        Path.Length == 0 ? $"{Source}:{Line}: {Message}" : $"{Source}:{Line}: {Path}: {Message}";
}
