namespace Ztunnel.Daemon;

/// <summary>What `ztunnel run` is started with on its command line (the rest is in the config file).</summary>
internal sealed record DaemonOptions(string ConfigPath)
{
    /// <summary>How long SIGTERM waits for open connections before cutting them.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(20);
}
