using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Ztunnel.Tls.Native;

// Send: SSL_write encrypts into the ring (see the class remarks); FlushAsync sends the ring from where it is.
internal sealed partial class NativeTlsStream
{
    /// <summary>
    /// Encrypts <paramref name="buffer"/> into the write ring; the records go out at <see cref="FlushAsync"/>
    /// (or earlier, when the ring fills). One writer at a time.
    /// </summary>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        try
        {
            return buffer.IsEmpty || TryWrite(buffer.Span) ? ValueTask.CompletedTask : WriteSlowAsync(buffer, cancellationToken);
        }
        catch (IOException e)
        {
            return ValueTask.FromException(e); // as an async write fails: in the task, not at the call
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteSlowAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        // The ring is full: send it, then retry the same bytes (OpenSSL remembers how far it got).
        do
        {
            await SendPendingAsync(cancellationToken).ConfigureAwait(false);
        }
        while (!TryWrite(buffer.Span));
    }

    /// <summary>True when all of <paramref name="data"/> was written; false when the ring filled first.</summary>
    private unsafe bool TryWrite(ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            ThrowIfDisposedLocked();
            OpenSslError.ClearBeforeCall();
            int result;
            fixed (byte* p = data)
            {
                result = OpenSsl.SSL_write_ex(_ssl, p, (nuint)data.Length, out _);
            }
            if (result == 1)
            {
                return true; // without SSL_MODE_ENABLE_PARTIAL_WRITE, success means everything
            }
            int error = OpenSsl.SSL_get_error(_ssl, result);
            if (error == OpenSsl.SSL_ERROR_WANT_WRITE)
            {
                _ringFilled = true;
                return false;
            }
            throw new IOException($"HBONE TLS send failed: {OpenSslError.Drain($"SSL_write error {error}")}");
        }
    }

    /// <summary>Sends every record written so far.</summary>
    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ValueTask send = SendPendingAsync(cancellationToken);
        return send.IsCompletedSuccessfully ? Task.CompletedTask : send.AsTask();
    }

    /// <summary>
    /// Graceful close, best effort: close_notify, sent at once. The caller shuts the socket down (or
    /// disposes the stream) after it.
    /// </summary>
    public async Task ShutdownAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            ThrowIfDisposedLocked();
            OpenSsl.ERR_clear_error();
            OpenSsl.SSL_shutdown(_ssl); // 0: close_notify written, the peer's not yet seen; fine for us
            OpenSsl.ERR_clear_error();
        }
        await SendPendingAsync(cancellationToken).ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendPendingAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Memory<byte> pending = TakePending();
            if (pending.IsEmpty)
            {
                return;
            }
            int sent = 0;
            try
            {
                // What the kernel takes now; the rest is taken from the ring again on the next turn.
                while ((sent = _socket.Send(pending.Span)) < 0)
                {
                    sent = 0;
                    await _socket.WaitWritableAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (SocketException e)
            {
                // As NetworkStream does: a broken pipe from FlushAsync must reach the HTTP/2 write path as an
                // IOException (a closed transport), not as a SocketException it would not expect.
                throw new IOException($"HBONE transport send failed: {e.Message}", e);
            }
            finally
            {
                Consume(sent);
            }
        }
    }

    /// <summary>The contiguous bytes at the head of the ring (empty if none), marked as being sent.</summary>
    private unsafe Memory<byte> TakePending()
    {
        lock (_lock)
        {
            ThrowIfDisposedLocked();
            if (_sending)
            {
                throw new InvalidOperationException("HBONE TLS: a flush is already sending (one writer at a time)");
            }
            byte* data;
            int count = OpenSsl.BIO_nread0(_network, &data);
            if (count <= 0)
            {
                return Memory<byte>.Empty;
            }
            _sending = true;
            return _sendMemory.Reset(data, count);
        }
    }

    /// <summary>Drops <paramref name="sent"/> bytes from the ring once the kernel has them.</summary>
    private unsafe void Consume(int sent)
    {
        lock (_lock)
        {
            _sending = false;
            if (_disposed != 0)
            {
                FreeNativeLocked(); // Dispose left it to us: the ring was in use
                return;
            }
            if (sent > 0)
            {
                byte* ignored;
                OpenSsl.BIO_nread(_network, &ignored, sent);
                OnSentLocked(sent);
                if (_readerWaitsForRing is { } reader)
                {
                    _readerWaitsForRing = null;
                    reader.TrySetResult();
                }
            }
        }
    }
}
