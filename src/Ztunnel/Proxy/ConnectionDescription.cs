using System.Net;
using Ztunnel.Discovery;
using Ztunnel.Tls;

namespace Ztunnel.Proxy;

/// <summary>Which of the three proxy paths a connection took.</summary>
internal enum ConnectionDirection
{
    /// <summary>Captured on 15001 in the source pod and sent out (HBONE or passthrough).</summary>
    Outbound,

    /// <summary>Arrived as an HBONE CONNECT on 15008.</summary>
    InboundHbone,

    /// <summary>Arrived as plain TCP on 15006 (client outside the mesh).</summary>
    InboundPlaintext,
}

/// <summary>
/// The facts about a connection that policy re-checks, the access log and metrics need. Built once
/// per connection. <see cref="SourceIdentity"/> only ever comes from a verified peer certificate.
/// <see cref="DestinationService"/> is the service whose VIP the client dialled (outbound), for telemetry.
/// </summary>
internal sealed record ConnectionDescription(
    ConnectionDirection Direction,
    IPEndPoint Source,
    IPEndPoint Destination,
    SpiffeId? SourceIdentity,
    SpiffeId? DestinationIdentity,
    string? SourceWorkloadUid,
    string? DestinationWorkloadUid,
    string? DestinationNamespace = null,
    Service? DestinationService = null);
