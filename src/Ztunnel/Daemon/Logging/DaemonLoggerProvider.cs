using Microsoft.Extensions.Logging;

namespace Ztunnel.Daemon.Logging;

/// <summary>
/// The daemon's MEL provider: loggers filtered by the run-time <see cref="LogLevelSwitch"/>, writing lines to one
/// <see cref="LogOutput"/>. "Microsoft" categories (framework chatter) log from Warning whatever the switch says,
/// as Serilog's MinimumLevel.Override("Microsoft", Warning) did.
/// </summary>
internal sealed class DaemonLoggerProvider(LogLevelSwitch level, LogOutput output, TimeProvider time) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new DaemonLogger(categoryName, IsFramework(categoryName) ? null : level, output, time);

    public void Dispose()
    {
    }

    /// <summary>Serilog's override matching: the namespace itself or anything under it ("MicrosoftX" is not).</summary>
    internal static bool IsFramework(string category) =>
        category.StartsWith("Microsoft", StringComparison.Ordinal) && (category.Length == 9 || category[9] == '.');
}
