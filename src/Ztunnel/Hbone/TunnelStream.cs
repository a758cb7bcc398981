using System.Buffers;

namespace Ztunnel.Hbone;

/// <summary>
/// One proxied TCP connection carried as one HTTP/2 CONNECT stream: a duplex byte stream.
/// Reading returns 0 when the peer half-closed (END_STREAM, the TCP FIN of the far side).
/// Both roles of our HTTP/2 connection (client and server) expose this type, so the
/// proxy relays the same way in both directions.
/// </summary>
public abstract class TunnelStream : Stream
{
    /// <summary>Half-close our sending direction (END_STREAM); reads keep working.</summary>
    public abstract ValueTask CompleteWritesAsync(CancellationToken cancellationToken = default);

    /// <summary>Abort both directions at once (RST_STREAM); pending reads and writes fail.</summary>
    public abstract void Reset();

    /// <summary>
    /// From now on, when this stream fails on its own (reset by the peer, its connection lost), <paramref name="partner"/>
    /// is reset too, even if nothing reads or writes this stream at that moment: a relay whose direction out of this
    /// stream already ended would otherwise not notice until the other side sent something. This base does nothing: a
    /// socket's failure shows on its pending read, which a relay always has until the peer half-closed.
    /// </summary>
    internal virtual void ResetAlongWith(TunnelStream partner)
    {
    }

    /// <summary>
    /// Moves this stream's next chunk of data, at most <paramref name="maxBytes"/>, to <paramref name="destination"/>
    /// and returns its length; 0 at the end of the stream (nothing is written then). This base reads into a pooled
    /// buffer and writes that; a stream that already holds received bytes in buffers of its own writes them from
    /// there instead, one copy of every byte less.
    /// </summary>
    internal virtual async ValueTask<int> MoveChunkToAsync(TunnelStream destination, int maxBytes, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(maxBytes);
        try
        {
            int read = await ReadAsync(buffer.AsMemory(0, maxBytes), cancellationToken).ConfigureAwait(false);
            if (read > 0)
            {
                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }
            return read;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Writes bytes that lie in several buffers (a received chunk spanning blocks). This base writes them one buffer
    /// after the other; a socket sends them together (<see cref="Proxy.SocketTunnelStream"/>).
    /// </summary>
    internal virtual async ValueTask WriteAsync(ReadOnlySequence<byte> data, CancellationToken cancellationToken)
    {
        foreach (ReadOnlyMemory<byte> segment in data)
        {
            await WriteAsync(segment, cancellationToken).ConfigureAwait(false);
        }
    }

    public sealed override bool CanRead => true;
    public sealed override bool CanWrite => true;
    public sealed override bool CanSeek => false;
    public sealed override long Length => throw new NotSupportedException();
    public sealed override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }
    public sealed override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public sealed override void SetLength(long value) => throw new NotSupportedException();
}
