namespace Ztunnel.Hbone.Server;

/// <summary>The proxy's side of the server: decides each CONNECT and relays accepted ones.</summary>
public interface IHboneRequestHandler
{
    /// <summary>
    /// Decide and prepare (authorize, connect to the app). Must not touch the tunnel: the server sends 200
    /// only after this returns <see cref="HboneAcceptResult.Accept"/>, and the rejected status otherwise.
    /// An exception is answered with 503. <paramref name="cancellationToken"/> fires when the client
    /// resets the stream or the server aborts.
    /// </summary>
    ValueTask<HboneAcceptResult> AcceptAsync(HboneRequest request, CancellationToken cancellationToken);
}
