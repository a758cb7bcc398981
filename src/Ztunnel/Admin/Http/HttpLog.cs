using System.Net;
using Microsoft.Extensions.Logging;

namespace Ztunnel.Admin.Http;

internal static partial class HttpLog
{
    [LoggerMessage(EventId = 120, Level = LogLevel.Debug, Message = "{Server}: listening on {EndPoint}")]
    public static partial void Listening(ILogger logger, string server, EndPoint endPoint);

    [LoggerMessage(EventId = 121, Level = LogLevel.Debug, Message = "{Server}: answered {Status} to a bad request: {Reason}")]
    public static partial void Rejected(ILogger logger, string server, int status, string reason);

    [LoggerMessage(EventId = 122, Level = LogLevel.Error, Message = "{Server}: {Method} {Path} failed; answered 500")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string server, string method, string path);

    [LoggerMessage(EventId = 123, Level = LogLevel.Warning, Message = "{Server}: refused a connection with 503: {Open} connections are open, the limit")]
    public static partial void Refused(ILogger logger, string server, int open);

    [LoggerMessage(EventId = 124, Level = LogLevel.Debug, Message = "{Server}: connection closed: {Reason}")]
    public static partial void Dropped(ILogger logger, string server, string reason);

    [LoggerMessage(EventId = 125, Level = LogLevel.Warning, Message = "{Server}: {Open} requests still running at the stop deadline; their connections are closed")]
    public static partial void Aborted(ILogger logger, string server, int open);

    [LoggerMessage(EventId = 127, Level = LogLevel.Error, Message = "{Server}: a connection failed unexpectedly; it is closed")]
    public static partial void ConnectionFailed(ILogger logger, Exception exception, string server);

    [LoggerMessage(EventId = 126, Level = LogLevel.Warning, Message = "{Server}: accepting a connection failed: {Reason}")]
    public static partial void AcceptFailed(ILogger logger, string server, string reason);
}
