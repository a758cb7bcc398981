using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Ztunnel.Hbone.Server;

public sealed partial class HboneListenerSet
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "HBONE listener {Name} accepting on {EndPoint}")]
        public static partial void ListenerAdded(ILogger logger, string name, IPEndPoint endPoint);

        [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "HBONE listener {Name} on {EndPoint} removed")]
        public static partial void ListenerRemoved(ILogger logger, string name, IPEndPoint endPoint);

        [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "HBONE listener {Name}: accept failed ({Error}); retrying")]
        public static partial void AcceptFailed(ILogger logger, string name, SocketError error, Exception exception);
    }
}
