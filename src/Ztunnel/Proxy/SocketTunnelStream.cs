using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Ztunnel.Capture;
using Ztunnel.Hbone;

namespace Ztunnel.Proxy;

/// <summary>
/// A plain TCP socket (the app side of a proxied connection) as a <see cref="TunnelStream"/>, so the relay
/// treats both ends alike: half-close is shutdown(SHUT_WR), reset is an RST (linger 0).
/// </summary>
internal sealed class SocketTunnelStream : TunnelStream
{
    private readonly Socket _socket;

    public SocketTunnelStream(Socket socket)
    {
        _socket = socket;
    }

    public Socket Socket => _socket;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);

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
            // Nothing to receive yet: wait until there is (a zero-byte receive holds no buffer while it waits).
            _ = await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cancellationToken);
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // The one send(2) that Socket.SendAsync would try first, made here: when the socket buffer takes it all (the
        // usual case), the socket never needs its cached send operation, about 300 bytes each connection would keep.
        int sent = buffer.IsEmpty ? 0 : LinuxNative.SendNoWait(_socket.SafeHandle, buffer.Span);
        return sent == buffer.Length ? ValueTask.CompletedTask : SendRestAsync(sent > 0 ? buffer[sent..] : buffer, cancellationToken);
    }

    internal override ValueTask WriteAsync(ReadOnlySequence<byte> data, CancellationToken cancellationToken)
    {
        // All pieces in one sendmsg(2) when the socket buffer takes them (one TCP send, not one per piece).
        int sent = LinuxNative.SendNoWait(_socket.SafeHandle, data);
        return sent == data.Length ? ValueTask.CompletedTask : SendRestAsync(sent > 0 ? data.Slice(sent) : data, cancellationToken);
    }

    private async ValueTask SendRestAsync(ReadOnlySequence<byte> data, CancellationToken cancellationToken)
    {
        foreach (ReadOnlyMemory<byte> segment in data)
        {
            await SendRestAsync(segment, cancellationToken);
        }
    }

    private async ValueTask SendRestAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        // Socket.SendAsync may send less than asked for on a non-blocking socket; loop until all is out.
        while (!buffer.IsEmpty)
        {
            int sent = await _socket.SendAsync(buffer, SocketFlags.None, cancellationToken);
            buffer = buffer[sent..];
        }
    }

    public override ValueTask CompleteWritesAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
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
            _socket.LingerState = new LingerOption(true, 0);
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

    public override int Read(byte[] buffer, int offset, int count) => _socket.Receive(buffer, offset, count, SocketFlags.None);

    public override void Write(byte[] buffer, int offset, int count)
    {
        int sent = 0;
        while (sent < count)
        {
            sent += _socket.Send(buffer, offset + sent, count - sent, SocketFlags.None);
        }
    }

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
