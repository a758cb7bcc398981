using Ztunnel.Tls;

namespace Ztunnel.Hbone.Server;

/// <summary>
/// Per-connection state attached to each accepted connection's feature collection: which listener it
/// arrived on, and (after the TLS handshake) the client's verified identity. HTTP/2 stream features fall
/// back to the connection's, so the CONNECT handler reads it from the request.
/// </summary>
internal sealed class HboneConnectionFeature
{
    public HboneConnectionFeature(HboneListenerInfo listener) => Listener = listener;

    public HboneListenerInfo Listener { get; }

    /// <summary>Set once after the handshake; null on a plaintext server.</summary>
    public SpiffeId? PeerIdentity { get; set; }
}
