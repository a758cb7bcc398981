namespace Ztunnel.Hbone;

/// <summary>
/// Opens the transport for a new pooled connection: a TCP connection to <see cref="HbonePoolKey.Address"/>
/// (made inside the source pod's network namespace by the proxy), wrapped in mTLS with ALPN h2, already
/// authenticated as <see cref="HbonePoolKey.Destination"/>.
/// </summary>
public delegate Task<Stream> HboneDialer(HbonePoolKey key, CancellationToken ct);
