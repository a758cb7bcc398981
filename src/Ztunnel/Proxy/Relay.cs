using Ztunnel.Hbone;

namespace Ztunnel.Proxy;

/// <summary>
/// Copies bytes both ways between the two ends of a proxied connection until both directions ended.
/// A FIN (read returns 0) on one side becomes a half-close on the other; an error on either side
/// resets both, so nothing is left half-open.
/// </summary>
internal static class Relay
{
    /// <summary>
    /// First chunk size (and copy buffer, when the source needs one: a socket); small, because most connections
    /// move little (per-connection memory). An HBONE stream as the source needs no copy buffer: its received
    /// DATA is written from its own buffers (<see cref="TunnelStream.MoveChunkToAsync"/>).
    /// </summary>
    internal const int InitialBufferSize = 16 * 1024;

    /// <summary>Chunks double while they come full, up to this, for bulk transfers (fewer syscalls per byte).</summary>
    internal const int MaxBufferSize = 256 * 1024;

    /// <summary>
    /// Relays between <paramref name="client"/> (the side that opened the connection) and <paramref name="server"/>.
    /// Completes when both directions are done; throws only for cancellation (after resetting both ends).
    /// The caller owns both ends and must dispose them afterwards: a socket left to the finalizer is closed
    /// abortively (RST), which would cut data still queued for the peer.
    /// </summary>
    public static async Task RunAsync(TunnelStream client, TunnelStream server, RelayCounters counters, CancellationToken cancellationToken)
    {
        using var cut = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (!await RunAsync(client, server, counters, cut))
        {
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// The relay with a token source the caller already has (one per connection instead of two): the caller
    /// cancels <paramref name="cut"/> to end the relay, and the relay cancels it when one direction fails.
    /// Returns true when both directions ended normally, false when the connection was reset (both ends).
    /// </summary>
    internal static async Task<bool> RunAsync(TunnelStream client, TunnelStream server, RelayCounters counters, CancellationTokenSource cut)
    {
        Task up = CopyAsync(client, server, counters, toServer: true, cut);
        Task down = CopyAsync(server, client, counters, toServer: false, cut);
        try
        {
            await Task.WhenAll(up, down);
            return true;
        }
        catch
        {
            // One direction failed (reset, broken pipe, cancel): the connection is over both ways.
            client.Reset();
            server.Reset();
            return false;
        }
    }

    private static async Task CopyAsync(TunnelStream from, TunnelStream to, RelayCounters counters, bool toServer, CancellationTokenSource failed)
    {
        CancellationToken token = failed.Token;
        int size = InitialBufferSize;
        try
        {
            while (true)
            {
                // Wait for data without holding a buffer: an idle connection costs no copy buffer at all.
                _ = await from.ReadAsync(Memory<byte>.Empty, token);
                int read = await from.MoveChunkToAsync(to, size, token);
                if (read == 0)
                {
                    await to.CompleteWritesAsync(token);
                    return;
                }
                if (toServer)
                {
                    counters.AddClientToServer(read);
                }
                else
                {
                    counters.AddServerToClient(read);
                }
                if (read == size && size < MaxBufferSize)
                {
                    size *= 2;
                }
            }
        }
        catch
        {
            await failed.CancelAsync();
            throw;
        }
    }
}
