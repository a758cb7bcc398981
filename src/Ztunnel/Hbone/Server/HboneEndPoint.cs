using System.Net;

namespace Ztunnel.Hbone.Server;

/// <summary>
/// The one endpoint Kestrel binds to: not an address but "every socket in the listener set". Kestrel
/// hands it to <see cref="HboneListenerSet"/> (and only to it, through
/// <see cref="Microsoft.AspNetCore.Connections.IConnectionListenerFactorySelector"/>).
/// </summary>
internal sealed class HboneEndPoint : EndPoint
{
    public static readonly HboneEndPoint Instance = new();

    private HboneEndPoint() { }

    public override string ToString() => "hbone://listener-set";
}
