using System.Buffers;
using System.Net.Sockets;
using Ztunnel.Hbone;
using Ztunnel.Sockets;

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
    public static Task<bool> RunAsync(TunnelStream client, TunnelStream server, RelayCounters counters)
    {
        var join = new Join();
        Start(client, server, counters, join);
        return join.Task;
    }

    /// <summary>
    /// Starts both directions and returns at once; <paramref name="ended"/> hears of each direction's end, on the
    /// thread that ended it. Nothing else waits for the relay: a held connection keeps only the two directions'
    /// frames and what <paramref name="ended"/> holds.
    /// </summary>
    public static void Start(TunnelStream client, TunnelStream server, RelayCounters counters, IRelayEnded ended)
    {
        // An end that fails on its own resets the other even when no direction waits on it any more (an HBONE
        // stream reset after it sent END_STREAM): nothing is left half-open until the app happens to write.
        client.ResetAlongWith(server);
        server.ResetAlongWith(client);
        _ = CopyAsync(server, client, counters, toServer: false, ended);
        _ = CopyAsync(client, server, counters, toServer: true, ended);
    }

    /// <summary>One direction. On failure it resets both ends (so the other direction fails too). Never throws.</summary>
    private static async Task CopyAsync(TunnelStream from, TunnelStream to, RelayCounters counters, bool toServer, IRelayEnded ended)
    {
        bool cleanly = false;
        int size = InitialBufferSize;
        if (from is Http2Stream source && to is SocketTunnelStream socket)
        {
            // Small received DATA then goes to the socket from the connection's read loop when nothing waits before
            // it: no copy into the stream's buffer, no wake-up of this direction. This loop still moves the rest.
            source.SendReceivedTo(new CountedSend(socket, counters, toServer));
        }
        SocketTunnelStream? app = from as SocketTunnelStream;
        if (app is not null && to is Http2Stream target)
        {
            // The other way round: small messages from the app go out from the poller's event while this loop waits.
            app.Polled.ReadableHandler = new ImmediateForward(app, target, counters, toServer);
        }
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
                    cleanly = true;
                    break;
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
        }
        if (app is not null)
        {
            app.Polled.ReadableHandler = null;
        }
        ended.DirectionEnded(cleanly);
    }

    /// <summary>
    /// The app -> tunnel direction's work at the app socket's readable event, on the poller's thread while the loop
    /// above waits (<see cref="Http2Connection.TryWriteDataFromSocketNow"/>), counted as the loop counts its own.
    /// </summary>
    private sealed class ImmediateForward(SocketTunnelStream from, Http2Stream to, RelayCounters counters, bool toServer) : IReadinessHandler
    {
        public bool TryHandle()
        {
            try
            {
                int moved = to.TryWriteFromSocketNow(from.Polled, out bool drained);
                if (moved > 0)
                {
                    if (toServer)
                    {
                        counters.AddClientToServer(moved);
                    }
                    else
                    {
                        counters.AddServerToClient(moved);
                    }
                }
                return drained;
            }
            catch (SocketException)
            {
                // The app's socket failed (a reset). Its error is consumed: the loop's next receive would find a clean
                // end. So reset both ends here, as the loop does on a failure (which wakes it, failed).
                from.Reset();
                to.Reset();
                return false;
            }
            catch (ObjectDisposedException)
            {
                return false; // closed meanwhile: the loop's wait has failed already
            }
        }
    }

    /// <summary>A direction's direct sends (<see cref="IReceivedDataSink"/>), counted as the relay counts its own.</summary>
    private sealed class CountedSend(SocketTunnelStream to, RelayCounters counters, bool toServer) : IReceivedDataSink
    {
        public int TrySend(in ReadOnlySequence<byte> data)
        {
            int sent = to.TrySendNow(data);
            if (sent > 0)
            {
                if (toServer)
                {
                    counters.AddClientToServer(sent);
                }
                else
                {
                    counters.AddServerToClient(sent);
                }
            }
            return sent;
        }
    }

    /// <summary>Completes when both directions ended: true if both ended cleanly.</summary>
    private sealed class Join : IRelayEnded
    {
        private readonly TaskCompletionSource<bool> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _left = 2;
        private int _failed;

        public Task<bool> Task => _done.Task;

        public void DirectionEnded(bool cleanly)
        {
            if (!cleanly)
            {
                Volatile.Write(ref _failed, 1);
            }
            if (Interlocked.Decrement(ref _left) == 0)
            {
                _done.SetResult(Volatile.Read(ref _failed) == 0);
            }
        }
    }
}
