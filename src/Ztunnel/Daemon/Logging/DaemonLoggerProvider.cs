using Microsoft.Extensions.Logging;

namespace Ztunnel.Daemon.Logging;

/// <summary>
/// The daemon's MEL provider: loggers filtered by the run-time <see cref="LogLevelSwitch"/>, writing lines to one
/// <see cref="LogOutput"/>. "Microsoft" categories (framework chatter) log from Warning whatever the switch says,
/// as Serilog's MinimumLevel.Override("Microsoft", Warning) did. The access log is not filtered by the switch: the
/// `accessLog` setting turns it on or off, and `logLevel: warning` with `accessLog: json` must still write one line per
/// connection (it wrote none while the access log followed the daemon's level).
/// </summary>
internal sealed class DaemonLoggerProvider(LogLevelSwitch level, LogOutput output, TimeProvider time) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => categoryName switch
    {
        Telemetry.AccessLog.Category => new DaemonLogger(categoryName, level, LogLevel.Information, output, time),
        _ when IsFramework(categoryName) => new DaemonLogger(categoryName, null, LogLevel.Warning, output, time),
        _ => new DaemonLogger(categoryName, level, LogLevel.None, output, time),
    };

    public void Dispose()
    {
    }

    /// <summary>Serilog's override matching: the namespace itself or anything under it ("MicrosoftX" is not).</summary>
    internal static bool IsFramework(string category) =>
        category.StartsWith("Microsoft", StringComparison.Ordinal) && (category.Length == 9 || category[9] == '.');
}
