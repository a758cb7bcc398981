using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Ztunnel.Hbone;
using Ztunnel.Sockets;

namespace Ztunnel.Proxy;

/// <summary>
/// A plain TCP socket (the app side of a proxied connection) as a <see cref="TunnelStream"/>, so the relay
/// treats both ends alike: half-close is shutdown(SHUT_WR), reset is an RST (linger 0).
/// </summary>
internal sealed class SocketTunnelStream : TunnelStream
{
    private readonly PolledSocket _socket;

    /// <summary>Takes <paramref name="socket"/> over (registers it with <see cref="SocketPoller"/>).</summary>
    public SocketTunnelStream(Socket socket)
        : this(new PolledSocket(socket))
    {
    }

    public SocketTunnelStream(PolledSocket socket)
    {
        _socket = socket;
    }

    public Socket Socket => _socket.Socket;

    internal PolledSocket Polled => _socket;

    /// <summary>A zero-byte read waits until the socket has data (or its end), taking nothing.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            await _socket.WaitReadableAsync(cancellationToken);
            return 0;
        }
        while (true)
        {
            int received = _socket.Receive(buffer.Span);
            if (received >= 0)
            {
                return received;
            }
            await _socket.WaitReadableAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Into an HBONE stream, the bytes go from this socket straight into the stream's DATA frames, with no buffer of
    /// the relay's in between (Http2Connection.SocketData.cs); anywhere else through a pooled buffer, as the base does.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal override async ValueTask<int> MoveChunkToAsync(TunnelStream destination, int maxBytes, CancellationToken cancellationToken)
    {
        if (destination is not Http2Stream tunnel)
        {
            return await base.MoveChunkToAsync(destination, maxBytes, cancellationToken);
        }
        while (true)
        {
            int moved = await tunnel.WriteFromSocketAsync(_socket, maxBytes, cancellationToken);
            if (moved >= 0)
            {
                return moved;
            }
            // Nothing to receive yet: wait until there is (no syscall: the receive just saw the socket empty).
            await _socket.WaitReadableAsync(cancellationToken);
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // Usually the socket buffer takes it all at once: no state machine then.
        int sent = buffer.IsEmpty ? 0 : _socket.Send(buffer.Span);
        return sent == buffer.Length ? ValueTask.CompletedTask : _socket.SendAllAsync(sent > 0 ? buffer[sent..] : buffer, cancellationToken);
    }

    internal override ValueTask WriteAsync(ReadOnlySequence<byte> data, CancellationToken cancellationToken)
    {
        // All pieces in one sendmsg(2) when the socket buffer takes them (one TCP send, not one per piece).
        int sent = _socket.Send(data);
        return sent == data.Length ? ValueTask.CompletedTask : SendRestAsync(sent > 0 ? data.Slice(sent) : data, cancellationToken);
    }

    /// <summary>
    /// One send that never waits and never throws: the bytes the kernel took now, 0 when none (a full buffer, or a
    /// socket that failed or was reset: the relay's next write here reports that).
    /// </summary>
    internal int TrySendNow(in ReadOnlySequence<byte> data)
    {
        try
        {
            return Math.Max(_socket.Send(data), 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return 0;
        }
    }

    private async ValueTask SendRestAsync(ReadOnlySequence<byte> data, CancellationToken cancellationToken)
    {
        foreach (ReadOnlyMemory<byte> segment in data)
        {
            await _socket.SendAllAsync(segment, cancellationToken);
        }
    }

    public override ValueTask CompleteWritesAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            Socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.NotConnected or SocketError.ConnectionReset)
        {
            // The peer is gone already; nothing left to half-close.
        }
        return ValueTask.CompletedTask;
    }

    public override void Reset()
    {
        try
        {
            // SO_LINGER with timeout 0 makes close() send RST instead of FIN.
            Socket.LingerState = new LingerOption(true, 0);
        }
        catch (SocketException)
        {
            // Already closed.
        }
        catch (ObjectDisposedException)
        {
            return;
        }
        _socket.Dispose();
    }

    // The Stream API's synchronous calls, for completeness: the relay never makes them.
    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() { }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _socket.Dispose();
        }
        base.Dispose(disposing);
    }
}
