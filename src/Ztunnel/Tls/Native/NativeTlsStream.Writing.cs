using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Ztunnel.Tls.Native;

// Send: each record is sealed straight into the send buffer (see the class remarks); FlushAsync sends it from where it is.
internal sealed partial class NativeTlsStream
{
    /// <summary>
    /// Seals <paramref name="buffer"/> into records in the send buffer; they go out at <see cref="FlushAsync"/> (or
    /// earlier, when the buffer fills). One writer at a time.
    /// </summary>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        try
        {
            int sealedBytes = buffer.IsEmpty ? 0 : TryWrite(buffer.Span);
            return sealedBytes == buffer.Length ? ValueTask.CompletedTask : WriteSlowAsync(buffer[sealedBytes..], cancellationToken);
        }
        catch (IOException e)
        {
            return ValueTask.FromException(e); // as an async write fails: in the task, not at the call
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteSlowAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        // The buffer is full: send it, then seal the rest.
        while (!buffer.IsEmpty)
        {
            await SendPendingAsync(cancellationToken).ConfigureAwait(false);
            buffer = buffer[TryWrite(buffer.Span)..];
        }
    }

    /// <summary>Seals as much of <paramref name="data"/> as the send buffer takes, in records of at most 16 KiB; returns how much.</summary>
    internal int TryWrite(ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            ThrowIfDisposedLocked();
            if (_refusedPeer)
            {
                throw new IOException("HBONE TLS send failed: the connection ended with a fatal alert after the peer sent a record TLS 1.3 does not allow");
            }
            int done = 0;
            while (done < data.Length)
            {
                int length = Math.Min(data.Length - done, TlsRecordProtection.MaxPlaintext);
                if (!SealOwedKeyUpdateLocked() || !HasSendRoomLocked(length))
                {
                    break;
                }
                SealLocked(data.Slice(done, length), TlsRecordProtection.ContentApplicationData);
                done += length;
            }
            return done;
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
        while (!TrySealAlert([1, AlertCloseNotify])) // warning level, as RFC 8446 §6.1 has it
        {
            await SendPendingAsync(cancellationToken).ConfigureAwait(false);
        }
        await SendPendingAsync(cancellationToken).ConfigureAwait(false);
    }

    private bool TrySealAlert(ReadOnlySpan<byte> alert)
    {
        lock (_lock)
        {
            ThrowIfDisposedLocked();
            if (_refusedPeer)
            {
                return true; // after a fatal alert nothing more is sealed; the flush sends it if it is still here
            }
            if (!SealOwedKeyUpdateLocked() || !HasSendRoomLocked(alert.Length))
            {
                return false;
            }
            SealLocked(alert, TlsRecordProtection.ContentAlert);
            return true;
        }
    }

    /// <summary>
    /// One send of the sealed records that never waits (the synchronous form of <see cref="FlushAsync"/>, for a writer
    /// on the poller's thread): true when the send buffer is empty after it; false when the socket took only part,
    /// and <see cref="FlushAsync"/> must send the rest.
    /// </summary>
    internal bool TrySendNow()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        Memory<byte> pending = TakePending();
        if (pending.IsEmpty)
        {
            return true;
        }
        int sent = 0;
        try
        {
            sent = Math.Max(_socket.Send(pending.Span), 0);
        }
        catch (SocketException e)
        {
            throw new IOException($"HBONE transport send failed: {e.Message}", e);
        }
        finally
        {
            Consume(sent);
        }
        return sent == pending.Length;
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

    /// <summary>The contiguous bytes at the head of the handshake's ring or of the send buffer (empty if none), marked as being sent.</summary>
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
            int count;
            if (_sealer is null)
            {
                count = OpenSsl.BIO_nread0(_network, &data); // the handshake's ring
            }
            else
            {
                data = _sendBuffer + _sendStart;
                count = _sendEnd - _sendStart;
            }
            if (count <= 0)
            {
                return Memory<byte>.Empty;
            }
            _sending = true;
            return _sendMemory.Reset(data, count);
        }
    }

    /// <summary>Drops <paramref name="sent"/> bytes from the ring or the send buffer once the kernel has them.</summary>
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
                if (_sealer is null)
                {
                    byte* ignored;
                    OpenSsl.BIO_nread(_network, &ignored, sent);
                    return;
                }
                _sendStart += sent;
                if (_sendStart == _sendEnd)
                {
                    _sendStart = _sendEnd = 0;
                }
                OnSentLocked(sent);
            }
        }
    }
}
