using System.Net;
using Microsoft.Extensions.Logging;
using Ztunnel.Discovery;

namespace Ztunnel.Telemetry;

/// <summary>
/// One structured line per finished connection, under the <see cref="Category"/> logger at Information (text or
/// JSON is the daemon's log format). Field names follow Istio's ztunnel access log (src.*, dst.*, direction,
/// bytes_sent/bytes_recv from the reporting proxy's point of view, duration), plus response_flags, the deciding
/// policy of a deny, and the reason a connection failed or was cut.
/// </summary>
internal sealed partial class AccessLog
{
    public const string Category = "Ztunnel.AccessLog";

    private readonly ILogger _logger;

    public AccessLog(ILoggerFactory loggers)
    {
        _logger = loggers.CreateLogger(Category);
    }

    public bool Enabled => _logger.IsEnabled(LogLevel.Information);

    public void Completed(in ConnectionPeers peers, long clientToServer, long serverToClient, TimeSpan duration, string? closeReason)
    {
        if (!Enabled)
        {
            return;
        }
        LogFields f = Fields(peers);
        // Istio's metrics count request bytes as "received"; the log un-flips them for the reporter: the outbound
        // proxy sends what the client wrote, the inbound proxy sends what the app answered.
        long sent = peers.IsOutbound ? clientToServer : serverToClient;
        long received = peers.IsOutbound ? serverToClient : clientToServer;
        LogCompleted(_logger, f.SourceAddress, f.SourceWorkload, f.SourceNamespace, f.SourceIdentity,
            f.DestinationAddress, f.DestinationService, f.DestinationWorkload, f.DestinationNamespace, f.DestinationIdentity,
            f.Direction, sent, received, (long)duration.TotalMilliseconds, ResponseFlags.None, closeReason ?? "-");
    }

    public void Failed(in ConnectionPeers peers, string responseFlags, string reason, string? policy)
    {
        if (!Enabled)
        {
            return;
        }
        LogFields f = Fields(peers);
        LogFailed(_logger, f.SourceAddress, f.SourceWorkload, f.SourceNamespace, f.SourceIdentity,
            f.DestinationAddress, f.DestinationService, f.DestinationWorkload, f.DestinationNamespace, f.DestinationIdentity,
            f.Direction, responseFlags, policy ?? "-", reason);
    }

    private static LogFields Fields(in ConnectionPeers peers)
    {
        Workload? source = peers.Source;
        Workload? destination = peers.Destination;
        return new LogFields(
            peers.Description.Source,
            source?.Name ?? "-",
            source?.Namespace ?? "-",
            peers.SourcePrincipal?.ToString() ?? "-",
            peers.Description.Destination,
            peers.Service?.Hostname() ?? "-",
            destination?.Name ?? "-",
            destination?.Namespace ?? peers.Description.DestinationNamespace ?? "-",
            peers.MutualTls ? peers.DestinationPrincipal?.ToString() ?? "-" : "-",
            peers.IsOutbound ? "outbound" : "inbound");
    }

    private readonly record struct LogFields(
        IPEndPoint SourceAddress, string SourceWorkload, string SourceNamespace, string SourceIdentity,
        IPEndPoint DestinationAddress, string DestinationService, string DestinationWorkload, string DestinationNamespace, string DestinationIdentity,
        string Direction);

    [LoggerMessage(EventId = 1500, Level = LogLevel.Information,
        Message = "connection complete src.addr={SrcAddr} src.workload={SrcWorkload} src.namespace={SrcNamespace} src.identity={SrcIdentity} " +
                  "dst.addr={DstAddr} dst.service={DstService} dst.workload={DstWorkload} dst.namespace={DstNamespace} dst.identity={DstIdentity} " +
                  "direction={Direction} bytes_sent={BytesSent} bytes_recv={BytesRecv} duration={DurationMs}ms response_flags={ResponseFlags} reason={Reason}")]
    private static partial void LogCompleted(ILogger logger, IPEndPoint srcAddr, string srcWorkload, string srcNamespace, string srcIdentity,
        IPEndPoint dstAddr, string dstService, string dstWorkload, string dstNamespace, string dstIdentity,
        string direction, long bytesSent, long bytesRecv, long durationMs, string responseFlags, string reason);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information,
        Message = "connection failed src.addr={SrcAddr} src.workload={SrcWorkload} src.namespace={SrcNamespace} src.identity={SrcIdentity} " +
                  "dst.addr={DstAddr} dst.service={DstService} dst.workload={DstWorkload} dst.namespace={DstNamespace} dst.identity={DstIdentity} " +
                  "direction={Direction} response_flags={ResponseFlags} policy={Policy} reason={Reason}")]
    private static partial void LogFailed(ILogger logger, IPEndPoint srcAddr, string srcWorkload, string srcNamespace, string srcIdentity,
        IPEndPoint dstAddr, string dstService, string dstWorkload, string dstNamespace, string dstIdentity,
        string direction, string responseFlags, string policy, string reason);
}
