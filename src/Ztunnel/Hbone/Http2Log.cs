using Microsoft.Extensions.Logging;

namespace Ztunnel.Hbone;

/// <summary>Log events of the HTTP/2 client (event ids 2100-2199).</summary>
internal static partial class Http2Log
{
    [LoggerMessage(EventId = 2100, Level = LogLevel.Warning, Message = "HTTP/2 connection error {Code}: {Detail}; sending GOAWAY")]
    public static partial void ConnectionError(ILogger logger, Http2ErrorCode code, string detail);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "HTTP/2 peer sent GOAWAY (last stream {LastStreamId}, {Code})")]
    public static partial void GoAwayReceived(ILogger logger, int lastStreamId, Http2ErrorCode code);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "HTTP/2 peer did not answer PING within {Timeout}; closing the connection")]
    public static partial void PingTimeout(ILogger logger, TimeSpan timeout);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Debug, Message = "HTTP/2 stream {StreamId} reset by peer ({Code})")]
    public static partial void StreamResetByPeer(ILogger logger, int streamId, Http2ErrorCode code);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Debug, Message = "HTTP/2 connection closed: {Reason}")]
    public static partial void ConnectionClosed(ILogger logger, string reason);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Error, Message = "HTTP/2 client internal error; sending GOAWAY INTERNAL_ERROR")]
    public static partial void InternalError(ILogger logger, Exception exception);
}
