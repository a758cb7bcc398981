using Microsoft.Extensions.Logging;
using Ztunnel.Daemon.Logging;
using Ztunnel.Discovery;

namespace Ztunnel.Daemon;

/// <summary>
/// The daemon's log pipeline: MEL's LoggerFactory over our own provider (Daemon/Logging), one line per event
/// to stderr, text or JSON, with a level that can be changed at run time (the admin endpoint holds
/// <see cref="Level"/>). Framework ("Microsoft") chatter stays at Warning.
/// </summary>
internal sealed class DaemonLogging : IDisposable
{
    /// <param name="output">Where lines go; stderr when null (tests pass a stream of their own).</param>
    /// <param name="time">The clock of the timestamps; the system's when null.</param>
    public DaemonLogging(LogLevel level, AccessLogFormat format, Stream? output = null, TimeProvider? time = null)
    {
        Level = new LogLevelSwitch(level);
        ILogLineFormatter formatter = format == AccessLogFormat.Json ? new JsonLineFormatter() : new TextLineFormatter();
        var provider = new DaemonLoggerProvider(Level, new LogOutput(output ?? Console.OpenStandardError(), formatter), time ?? TimeProvider.System);
        // The provider filters by the switch; the factory's own filter lets everything through to it.
        Factory = new LoggerFactory([provider], new LoggerFilterOptions { MinLevel = LogLevel.Trace });
    }

    public ILoggerFactory Factory { get; }

    /// <summary>The minimum level, changeable at run time.</summary>
    public LogLevelSwitch Level { get; }

    public void Dispose() => Factory.Dispose();
}
