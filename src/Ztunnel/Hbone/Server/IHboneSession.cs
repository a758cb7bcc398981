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
}
