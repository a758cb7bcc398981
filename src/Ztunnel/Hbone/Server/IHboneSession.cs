namespace Ztunnel.Hbone.Server;

/// <summary>An accepted CONNECT: relays between the tunnel and whatever the handler prepared. Disposed afterwards (also when the 200 could not be sent).</summary>
public interface IHboneSession : IAsyncDisposable
{
    /// <summary>
    /// Relay until both directions are done. The 200 has been sent. Half-close the tunnel with
    /// <see cref="TunnelStream.CompleteWritesAsync"/>; a read of 0 is the client's half-close. An exception
    /// resets the stream. <paramref name="cancellationToken"/> fires when the stream or connection is aborted
    /// (client reset, server stop after the drain deadline).
    /// </summary>
    Task RunAsync(TunnelStream tunnel, CancellationToken cancellationToken);

    /// <summary>
    /// True for a session that ends the tunnel itself: its <see cref="RunAsync"/> never throws and may complete as
    /// soon as the session started; the session disposes the tunnel (which resets it unless both directions ended)
    /// and everything else it holds when it is over. The server starts it, keeps nothing waiting for it, and never
    /// disposes this session.
    /// Worth it for sessions that live long (every held connection pays for what waits with it).
    /// </summary>
    bool EndsTunnelItself => false;
}
