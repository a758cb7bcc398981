using System.Net;
using Ztunnel.Tls;

namespace Ztunnel.Hbone.Server;

/// <summary>
/// What the server knows about one accepted connection: the listener (pod) it arrived on, the client's
/// verified identity (read once after the TLS handshake, not per CONNECT) and its TCP peer.
/// </summary>
internal sealed record HboneConnectionInfo(HboneListenerInfo Listener, SpiffeId? PeerIdentity, IPEndPoint? RemoteEndPoint);
