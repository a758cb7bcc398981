using System.Net;
using Microsoft.Extensions.Logging;

namespace Ztunnel.Tests.Daemon.Logging;

/// <summary>[LoggerMessage] calls shaped like the daemon's, for the formatter tests.</summary>
internal static partial class TestEvents
{
    [LoggerMessage(EventId = 42, Level = LogLevel.Information, Message = "value {Value} from {Peer}")]
    public static partial void Value(ILogger logger, string? value, IPEndPoint peer);

    [LoggerMessage(EventId = 43, Level = LogLevel.Error, Message = "request to {Host} failed")]
    public static partial void Failed(ILogger logger, Exception ex, string host);

    [LoggerMessage(EventId = 44, Level = LogLevel.Debug, Message = "took {Milliseconds:F1} ms, {Count} items, ok={Ok}, ratio={Ratio}")]
    public static partial void Took(ILogger logger, double milliseconds, long count, bool ok, double ratio);

    [LoggerMessage(EventId = 45, Level = LogLevel.Warning, Message = "{Text}")]
    public static partial void Free(ILogger logger, string text);
}
