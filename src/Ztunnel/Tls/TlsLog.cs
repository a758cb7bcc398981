using Microsoft.Extensions.Logging;

namespace Ztunnel.Tls;

internal static partial class TlsLog
{
    // The HBONE server logs handshake failures only at Debug; this makes the reason visible where it matters.
    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "rejected HBONE TLS peer: {Reason}")]
    public static partial void PeerRejected(ILogger logger, string reason);
}
