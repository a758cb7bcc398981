using Microsoft.Extensions.Logging;

namespace Ztunnel.Discovery;

internal static partial class LocalConfigLog
{
    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "loaded {Source}: {Workloads} workloads, {Services} services")]
    public static partial void Loaded(ILogger logger, string source, int workloads, int services);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "{Diagnostic}")]
    public static partial void Warning(ILogger logger, ConfigDiagnostic diagnostic);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Error, Message = "{Diagnostic} (keeping the previous state)")]
    public static partial void ReloadError(ILogger logger, ConfigDiagnostic diagnostic);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Warning, Message = "{Source}: daemon settings changed; they take effect on restart (mesh state was reloaded)")]
    public static partial void SettingsNeedRestart(ILogger logger, string source);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Warning, Message = "watching {Directory} failed; reloading to catch up")]
    public static partial void WatcherError(ILogger logger, string directory, Exception exception);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Warning, Message = "cannot watch {Directory} for changes; edits will not be picked up until restart")]
    public static partial void CannotWatch(ILogger logger, string directory, Exception exception);
}
