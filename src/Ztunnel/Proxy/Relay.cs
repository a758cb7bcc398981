using Ztunnel.Hbone;

namespace Ztunnel.Proxy;

/// <summary>
/// Copies bytes both ways between the two ends of a proxied connection until both directions ended.
/// A FIN (read returns 0) on one side becomes a half-close on the other; an error on either side
/// resets both, so nothing is left half-open.
/// </summary>
/// <remarks>
/// No cancellation token reaches the reads and writes: a pending read with a token registers on it, and an idle
/// held connection would pay for that on both directions. To cut a relay, reset its ends
/// (<see cref="TrackedConnection.Close"/> does): every pending operation fails at once.
/// </remarks>
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
    /// Returns true when both directions ended normally, false when the connection was reset (both ends are then
    /// reset already). Never throws. The caller owns both ends and must dispose them afterwards: a socket left to
    /// the finalizer is closed abortively (RST), which would cut data still queued for the peer.
    /// </summary>
    public static async Task<bool> RunAsync(TunnelStream client, TunnelStream server, RelayCounters counters)
    {
        Task<bool> down = CopyAsync(server, client, counters, toServer: false);
        bool upEnded = await CopyAsync(client, server, counters, toServer: true);
        bool downEnded = await down;
        return upEnded && downEnded;
    }

    /// <summary>One direction; false when it failed, after resetting both ends (so the other direction fails too). Never throws.</summary>
    internal static async Task<bool> CopyAsync(TunnelStream from, TunnelStream to, RelayCounters counters, bool toServer)
    {
        int size = InitialBufferSize;
        try
        {
            while (true)
            {
                // Wait for data without holding a buffer: an idle connection costs no copy buffer at all.
                if (from is Http2Stream tunnel)
                {
                    // Its receive buffer's own wait: no state machine of the stream's while the tunnel is idle.
                    await tunnel.WaitForReceivedAsync();
                }
                else
                {
                    _ = await from.ReadAsync(Memory<byte>.Empty);
                }
                int read = await from.MoveChunkToAsync(to, size, CancellationToken.None);
                if (read == 0)
                {
                    await to.CompleteWritesAsync();
                    return true;
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
            // Reset, broken pipe, or an end reset by the daemon: the connection is over both ways.
            from.Reset();
            to.Reset();
            return false;
        }
    }
}
