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

    [LoggerMessage(EventId = 2110, Level = LogLevel.Debug, Message = "HBONE pool: new connection for {Key} ({Count} now)")]
    public static partial void ConnectionDialled(ILogger logger, HbonePoolKey key, int count);

    [LoggerMessage(EventId = 2111, Level = LogLevel.Warning, Message = "HBONE pool: dial for {Key} failed: {Reason}")]
    public static partial void DialFailed(ILogger logger, HbonePoolKey key, string reason);

    [LoggerMessage(EventId = 2112, Level = LogLevel.Debug, Message = "HBONE pool: closing a connection idle for the idle timeout")]
    public static partial void IdleConnectionClosed(ILogger logger);

    [LoggerMessage(EventId = 2113, Level = LogLevel.Debug, Message = "HBONE pool: stream for {Key} refused ({Reason}); retrying on another connection")]
    public static partial void StreamRetried(ILogger logger, HbonePoolKey key, string reason);
}
