using System.Net;
using Ztunnel.Tls;

namespace Ztunnel.Hbone;

/// <summary>
/// What makes two tunnels shareable on one HTTP/2 connection (DESIGN §4): the same source identity (our
/// client certificate), the same expected destination identity, and the same destination address.
/// </summary>
public readonly record struct HbonePoolKey(SpiffeId Source, SpiffeId Destination, IPEndPoint Address)
{
    public override string ToString() => $"{Source} -> {Destination} at {Address}";
}
