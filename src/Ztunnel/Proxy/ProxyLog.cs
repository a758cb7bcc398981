using System.Net;
using Microsoft.Extensions.Logging;

namespace Ztunnel.Proxy;

/// <summary>The proxy paths' log events (stable ids 500-599). Nothing here is logged per chunk.</summary>
internal static partial class ProxyLog
{
    [LoggerMessage(EventId = 500, Level = LogLevel.Warning, Message = "Refused a self-call from pod {Pod} to {Target}: port is one of the daemon's own")]
    public static partial void SelfCall(ILogger logger, EnrolledPod pod, IPEndPoint target);

    [LoggerMessage(EventId = 501, Level = LogLevel.Warning, Message = "Outbound {Source} -> {Target} from pod {Pod} failed: {Reason}")]
    public static partial void OutboundFailed(ILogger logger, EnrolledPod pod, EndPoint? source, IPEndPoint target, string reason);

    [LoggerMessage(EventId = 502, Level = LogLevel.Warning, Message = "Service {Service} has no healthy endpoint for port {Port}; connection from pod {Pod} refused")]
    public static partial void NoHealthyEndpoint(ILogger logger, EnrolledPod pod, string service, int port);

    [LoggerMessage(EventId = 503, Level = LogLevel.Warning, Message = "Inbound {Source} -> {Target} in pod {Pod} failed: {Reason}")]
    public static partial void InboundFailed(ILogger logger, EnrolledPod pod, EndPoint? source, EndPoint? target, string reason);

    [LoggerMessage(EventId = 504, Level = LogLevel.Warning, Message = "Cannot read the original destination of a connection in pod {Pod}: {Reason}")]
    public static partial void NoOriginalDestination(ILogger logger, EnrolledPod pod, string reason);

    [LoggerMessage(EventId = 505, Level = LogLevel.Error, Message = "Accepting connections in pod {Pod} failed")]
    public static partial void AcceptFailed(ILogger logger, EnrolledPod pod, Exception exception);

    [LoggerMessage(EventId = 506, Level = LogLevel.Debug, Message = "{Direction} {Source} -> {Destination} closed: {Sent} bytes sent, {Received} received")]
    public static partial void Closed(ILogger logger, ConnectionDirection direction, IPEndPoint source, IPEndPoint destination, long sent, long received);

    [LoggerMessage(EventId = 507, Level = LogLevel.Error, Message = "Relaying {Source} -> {Destination}: the connection's bookkeeping failed (both ends were reset or closed)")]
    public static partial void RelayFailed(ILogger logger, IPEndPoint source, IPEndPoint destination, Exception exception);
}
