using System.Net;
using Microsoft.Extensions.Logging;

namespace Ztunnel.Hbone.Server;

public sealed partial class HboneServer
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 1120, Level = LogLevel.Information, Message = "HBONE server stopping; draining tunnels for up to {Drain}")]
        public static partial void Stopping(ILogger logger, TimeSpan drain);

        [LoggerMessage(EventId = 1121, Level = LogLevel.Information, Message = "HBONE server stopped")]
        public static partial void Stopped(ILogger logger);

        [LoggerMessage(EventId = 1123, Level = LogLevel.Warning, Message = "HBONE drain deadline passed with {Open} connections still open; aborting their tunnels")]
        public static partial void DrainDeadline(ILogger logger, int open);

        [LoggerMessage(EventId = 1122, Level = LogLevel.Error, Message = "HBONE listener {Listener}: TLS connection from {Remote} has no SPIFFE client identity; closing it")]
        public static partial void NoPeerIdentity(ILogger logger, string listener, EndPoint? remote);

        [LoggerMessage(EventId = 1124, Level = LogLevel.Debug, Message = "HBONE listener {Listener}: TLS handshake with {Remote} failed: {Reason}")]
        public static partial void HandshakeFailed(ILogger logger, string listener, EndPoint? remote, string reason);
    }
}
