namespace Ztunnel.Capture;

/// <summary>
/// Where the tools that install the pod rules live, and how long one may run. Names without a slash
/// are looked up on PATH. All run inside the pod netns through <c>nsenter --net=PATH</c>.
/// </summary>
internal sealed record CaptureOptions
{
    public string Nsenter { get; init; } = "nsenter";
    public string IptablesSave { get; init; } = "iptables-save";
    public string IptablesRestore { get; init; } = "iptables-restore";
    public string Ip6tablesSave { get; init; } = "ip6tables-save";
    public string Ip6tablesRestore { get; init; } = "ip6tables-restore";
    public string Ip { get; init; } = "ip";

    /// <summary>Hang guard for one command; iptables waits this long at most for the xtables lock too.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(30);
}
