using Ztunnel.Capture.Registration;
using Ztunnel.Daemon.Logging;
using Ztunnel.Discovery;

namespace Ztunnel.Admin;

/// <summary>What the admin endpoint reads and controls; the daemon fills it in (tests fill it with their own).</summary>
internal sealed class AdminSources
{
    public required string NodeName { get; init; }
    public required StateStore State { get; init; }
    public required Func<IReadOnlyList<PodStatus>> Pods { get; init; }
    public Func<IReadOnlyList<ConfigDump.CertificateEntry>> Certificates { get; init; } = static () => [];
    public Func<int> LiveConnections { get; init; } = static () => 0;

    /// <summary>The log level switch of the daemon's pipeline (changed by POST /logging).</summary>
    public required LogLevelSwitch LogLevel { get; init; }

    /// <summary>Starts the graceful drain, as SIGTERM does (POST /quitquitquit).</summary>
    public required Action Quit { get; init; }
}
