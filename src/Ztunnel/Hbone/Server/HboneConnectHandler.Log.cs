using System.Net;
using Microsoft.Extensions.Logging;

namespace Ztunnel.Hbone.Server;

internal sealed partial class HboneConnectHandler
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 1110, Level = LogLevel.Debug, Message = "HBONE listener {Listener}: 400 to {Remote}: {Error}")]
        public static partial void BadRequest(ILogger logger, string listener, IPEndPoint? remote, string error);

        [LoggerMessage(EventId = 1111, Level = LogLevel.Debug, Message = "{Request}: rejected with {Status}: {Reason}")]
        public static partial void Rejected(ILogger logger, HboneRequest request, int status, string reason);

        [LoggerMessage(EventId = 1112, Level = LogLevel.Error, Message = "{Request}: the handler failed; answered 503")]
        public static partial void HandlerFailed(ILogger logger, HboneRequest request, Exception exception);

        [LoggerMessage(EventId = 1113, Level = LogLevel.Debug, Message = "{Request}: the client left before the 200 was sent")]
        public static partial void ClientGone(ILogger logger, HboneRequest request);

        [LoggerMessage(EventId = 1114, Level = LogLevel.Warning, Message = "HBONE stream {StreamId} to {Authority}: the session failed; stream reset")]
        public static partial void SessionFailed(ILogger logger, int streamId, string authority, Exception exception);

        [LoggerMessage(EventId = 1116, Level = LogLevel.Error, Message = "HBONE stream {StreamId} to {Authority} failed; stream reset")]
        public static partial void StreamFailed(ILogger logger, int streamId, string authority, Exception exception);

        [LoggerMessage(EventId = 1115, Level = LogLevel.Debug, Message = "HBONE client left before its {Status} was sent")]
        public static partial void ClientGoneBeforeAnswer(ILogger logger, int status);
    }
}
