using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Ztunnel.Hbone;

/// <summary>
/// The TCP socket under an HBONE connection's <see cref="System.Net.Security.SslStream"/>, in place of a
/// <see cref="NetworkStream"/>: it cuts the syscalls per TLS record on both directions.
/// </summary>
/// <remarks>
/// <para>
/// Reads: SslStream asks its inner stream for about one record (16 KiB) at a time, and before each read
/// that finds its own buffer empty it issues a zero-byte read (on a socket, a <c>recvfrom(MSG_PEEK)</c>).
/// Under bulk traffic that is two syscalls per record. Here one <c>recv</c> takes up to
/// <see cref="ReadAheadSize"/> bytes, and reads (zero-byte ones included) are answered from that buffer
/// until it is empty. The buffer is rented per burst and returned as soon as it is drained, so an idle
/// connection holds none.
/// </para>
/// <para>
/// Writes (once <see cref="CoalesceWrites"/> is on, after the handshake): SslStream writes every record
/// separately. Here they are gathered and go out in one <c>send</c> at <see cref="FlushAsync"/> (or when
/// <see cref="WriteBufferSize"/> fills), which the HTTP/2 write path calls once per batch of frames. Larger
/// sends also let the kernel segment in bigger chunks (GSO). During the handshake writes pass straight
/// through: SslStream does not flush its inner stream between handshake messages.
/// </para>
/// </remarks>
internal sealed class TlsSocketStream : Stream
{
    /// <summary>How much one receive may take: four full TLS records.</summary>
    internal const int ReadAheadSize = 64 * 1024;

    /// <summary>How much ciphertext is gathered before it is sent even without a flush.</summary>
    internal const int WriteBufferSize = 128 * 1024;

    private readonly Socket _socket;
    private byte[]? _readBuffer;
    private int _readStart;
    private int _readEnd;
    private bool _lastReadFilled;
    private byte[]? _writeBuffer;
    private int _writeCount;
    private int _disposed;

    public TlsSocketStream(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        _socket = socket;
    }

    /// <summary>The socket; the stream owns it and closes it on dispose.</summary>
    public Socket Socket => _socket;

    /// <summary>
    /// Gather writes until <see cref="FlushAsync"/>. Turn on only once every writer flushes (after the TLS
    /// handshake) and writes come from one owner at a time: a write while a flush is still sending is not safe.
    /// </summary>
    public bool CoalesceWrites { get; set; }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return _readEnd > _readStart
            ? ValueTask.FromResult(buffer.IsEmpty ? 0 : TakeBuffered(buffer.Span))
            : ReceiveAsync(buffer, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            if (buffer.IsEmpty && !_lastReadFilled)
            {
                // Wait for data without holding a buffer (the idle case).
                return await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }
            if (buffer.Length >= ReadAheadSize)
            {
                int direct = await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                _lastReadFilled = direct == buffer.Length;
                return direct;
            }
            // Under bulk (the last receive filled the buffer) a zero-byte read would only cost a MSG_PEEK before
            // the receive that follows at once: receive now instead.
            _readBuffer ??= ArrayPool<byte>.Shared.Rent(ReadAheadSize);
            int received = await _socket.ReceiveAsync(_readBuffer.AsMemory(0, ReadAheadSize), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            _lastReadFilled = received == ReadAheadSize;
            _readStart = 0;
            _readEnd = received;
            if (received == 0)
            {
                ReturnReadBuffer();
                return 0;
            }
            return buffer.IsEmpty ? 0 : TakeBuffered(buffer.Span);
        }
        catch (SocketException e)
        {
            // As NetworkStream does: callers (SslStream, the HTTP/2 loops) handle transport failures as IOException.
            throw new IOException($"HBONE transport receive failed: {e.Message}", e);
        }
    }

    private int TakeBuffered(Span<byte> destination)
    {
        int count = Math.Min(destination.Length, _readEnd - _readStart);
        _readBuffer.AsSpan(_readStart, count).CopyTo(destination);
        _readStart += count;
        if (_readStart == _readEnd)
        {
            ReturnReadBuffer();
        }
        return count;
    }

    private void ReturnReadBuffer()
    {
        _readStart = _readEnd = 0;
        if (_readBuffer is { } buffer)
        {
            _readBuffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (!CoalesceWrites)
        {
            return SendAllAsync(buffer, cancellationToken);
        }
        if (_writeCount + buffer.Length <= WriteBufferSize)
        {
            _writeBuffer ??= ArrayPool<byte>.Shared.Rent(WriteBufferSize);
            buffer.Span.CopyTo(_writeBuffer.AsSpan(_writeCount));
            _writeCount += buffer.Length;
            return ValueTask.CompletedTask;
        }
        return WriteThroughAsync(buffer, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteThroughAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        if (buffer.Length >= WriteBufferSize)
        {
            await SendAllAsync(buffer, cancellationToken).ConfigureAwait(false);
            return;
        }
        _writeBuffer ??= ArrayPool<byte>.Shared.Rent(WriteBufferSize);
        buffer.Span.CopyTo(_writeBuffer);
        _writeCount = buffer.Length;
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => FlushWritesAsync(cancellationToken).AsTask();

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FlushWritesAsync(CancellationToken cancellationToken)
    {
        if (_writeBuffer is not { } pending)
        {
            return;
        }
        try
        {
            await SendAllAsync(pending.AsMemory(0, _writeCount), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Sent or failed, the bytes are done with: a failed send breaks the connection anyway.
            _writeBuffer = null;
            _writeCount = 0;
            ArrayPool<byte>.Shared.Return(pending);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendAllAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            // A non-blocking send may take less than asked for; loop until all is out.
            while (!buffer.IsEmpty)
            {
                int sent = await _socket.SendAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                buffer = buffer[sent..];
            }
        }
        catch (SocketException e)
        {
            // As NetworkStream does: a broken pipe from FlushAsync (where the batches are sent) would otherwise
            // reach the HTTP/2 write path as a SocketException, which it does not treat as a closed transport.
            throw new IOException($"HBONE transport send failed: {e.Message}", e);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // HBONE connections are async only; a synchronous call would block a thread-pool thread per connection.
    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("HBONE transports are async only; use ReadAsync");

    public override void Write(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("HBONE transports are async only; use WriteAsync");

    public override void Flush() => throw new NotSupportedException("HBONE transports are async only; use FlushAsync");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _socket.Dispose();
            // Dropped, not returned to the pool: a receive or send may still be in flight on them in another
            // thread, and a pooled buffer must never be written by two owners. (A flush in flight returns its
            // own buffer once its send has failed.)
            _readBuffer = null;
            _writeBuffer = null;
        }
        base.Dispose(disposing);
    }
}
