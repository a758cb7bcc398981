using System.Net;
using Ztunnel.Tls;

namespace Ztunnel.Hbone.Server;

/// <summary>One inbound CONNECT, validated as far as the wire goes (DESIGN §4); what it may do is the handler's call.</summary>
public sealed class HboneRequest
{
    /// <summary>The <c>:authority</c>: the app address the client wants (pod IP and port).</summary>
    public required IPEndPoint Authority { get; init; }

    /// <summary>The client's identity from its verified certificate; null only on a plaintext server (tests).</summary>
    public required SpiffeId? PeerIdentity { get; init; }

    /// <summary>The listener (pod) the connection arrived on.</summary>
    public required HboneListenerInfo Listener { get; init; }

    /// <summary>The TCP peer of the HBONE connection (the remote node or pod).</summary>
    public required IPEndPoint? RemoteEndPoint { get; init; }

    /// <summary>The raw <c>forwarded</c> header, if any.</summary>
    public string? Forwarded { get; init; }

    /// <summary>The first <c>for=</c> address of <see cref="Forwarded"/> (the original client), if it parsed.</summary>
    public IPEndPoint? ForwardedFor { get; init; }

    /// <summary>Raw W3C <c>baggage</c> header, passed through for telemetry.</summary>
    public string? Baggage { get; init; }

    /// <summary>Raw W3C <c>traceparent</c> header.</summary>
    public string? TraceParent { get; init; }

    public override string ToString() => $"CONNECT {Authority} from {PeerIdentity?.ToString() ?? "(no identity)"} at {RemoteEndPoint} on {Listener.Name}";
}
