using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Ztunnel.Tls.Native;

// Receive: SSL_read takes the socket itself (see the class remarks); when it runs dry, wait for readability.
internal sealed partial class NativeTlsStream
{

    /// <summary>
    /// Decrypted bytes into <paramref name="buffer"/>: as many whole records as OpenSSL has read ahead, at
    /// least one byte; 0 at the end of the stream (close_notify, or the peer closed between records).
    /// </summary>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        int read;
        bool wantRead;
        try
        {
            read = TryRead(buffer.Span, waitIfDrained: true, out wantRead);
        }
        catch (IOException e)
        {
            return ValueTask.FromException<int>(e); // as an async read fails: in the task, not at the call
        }
        return wantRead ? ReadSlowAsync(buffer, cancellationToken) : ValueTask.FromResult(read);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadSlowAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            TaskCompletionSource? ring;
            lock (_lock)
            {
                ring = _readerWaitsForRing;
            }
            if (ring is not null)
            {
                await ring.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // Awaited here, not through WaitReadableAsync: one async frame less on every wait of the data path.
                try
                {
                    await _socket.WaitReadableAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (SocketException e)
                {
                    throw ReceiveFailed(e);
                }
            }
            if (buffer.IsEmpty)
            {
                return 0; // a zero-byte read only waits for data
            }
            int read = TryRead(buffer.Span, waitIfDrained: false, out bool wantRead);
            if (!wantRead)
            {
                return read;
            }
        }
    }

    /// <summary>
    /// Waits until the socket may have bytes (or EOF, or an error) without taking any of them: at once unless the
    /// last SSL call's receive found it empty and the poller has seen nothing since.
    /// </summary>
    private ValueTask WaitReadableAsync(CancellationToken cancellationToken)
    {
        ValueTask wait = _socket.WaitReadableAsync(cancellationToken);
        return wait.IsCompletedSuccessfully ? wait : WaitReadableSlowAsync(wait);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask WaitReadableSlowAsync(ValueTask wait)
    {
        try
        {
            await wait.ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw ReceiveFailed(e);
        }
    }

    private static IOException ReceiveFailed(SocketException e) => new($"HBONE transport receive failed: {e.Message}", e);

    /// <summary>
    /// Decrypted bytes into <paramref name="destination"/>, or <paramref name="wantRead"/> when there are none yet. With
    /// <paramref name="waitIfDrained"/>, a socket that OpenSSL's last receive drained after a small take (see
    /// NativeTlsStream.SocketReads.cs), with no event since and nothing buffered in OpenSSL, is not asked again (that
    /// read would be an EAGAIN). After a wait the read is always made: the wait also ends for an end of stream or an
    /// error, which only a read reports.
    /// </summary>
    private unsafe int TryRead(Span<byte> destination, bool waitIfDrained, out bool wantRead)
    {
        wantRead = false;
        lock (_lock)
        {
            ThrowIfDisposedLocked();
            if (destination.IsEmpty)
            {
                // A zero-byte read only asks whether a read would find data. After a drained small read (as for a
                // real read below) the answer is no without asking the socket: the peek would be an EAGAIN.
                wantRead = OpenSsl.SSL_has_pending(_ssl) == 0
                    && ((waitIfDrained && !_socket.ReadMayFindData) || !PeekLocked());
                return 0;
            }
            if (waitIfDrained && !_socket.ReadMayFindData && OpenSsl.SSL_has_pending(_ssl) == 0)
            {
                wantRead = true;
                return 0;
            }
            OpenSslError.ClearBeforeCall();
            int total = 0;
            fixed (byte* p = destination)
            {
                while (true)
                {
                    int seen = _socket.ReadEvents;
                    int socketReads = t_socketReads;
                    int result = OpenSsl.SSL_read_ex(_ssl, p + total, (nuint)(destination.Length - total), out nuint read);
                    int socketReadsMade = t_socketReads - socketReads;
                    SocketReads += socketReadsMade;
                    if (result == 1)
                    {
                        if (socketReadsMade != 0)
                        {
                            _socket.NoteReceive(seen, drained: t_lastSocketReadSparse);
                        }
                        total += (int)read;
                        // More records already read ahead: take them too (one call, one lock, per burst).
                        if (total == destination.Length)
                        {
                            return total;
                        }
                        if (OpenSsl.SSL_has_pending(_ssl) == 0)
                        {
                            // Whether the kernel has more is not known here (this call may not have read the
                            // socket at all): the next read asks OpenSSL, whose EAGAIN is what allows a wait.
                            return total;
                        }
                        continue;
                    }
                    int errno = Marshal.GetLastPInvokeError();
                    int error = OpenSsl.SSL_get_error(_ssl, result);
                    if (error == OpenSsl.SSL_ERROR_WANT_READ)
                    {
                        _socket.NoteReceive(seen, drained: true); // the socket BIO's recv found nothing
                    }
                    if (total > 0)
                    {
                        // Deliver what we have; a lasting condition (EOF, error) shows again on the next read.
                        OpenSsl.ERR_clear_error();
                        return total;
                    }
                    return ReadFailed(error, errno, out wantRead);
                }
            }
        }
    }

    /// <summary>
    /// For a zero-byte read: true when a record's bytes are at hand (OpenSSL reads ahead from the socket to see);
    /// false when the socket is empty, or when the peek met the end or an error, which the next real read reports.
    /// </summary>
    private unsafe bool PeekLocked()
    {
        OpenSslError.ClearBeforeCall();
        int seen = _socket.ReadEvents;
        int socketReads = t_socketReads;
        byte peeked;
        int result = OpenSsl.SSL_peek_ex(_ssl, &peeked, 1, out _);
        SocketReads += t_socketReads - socketReads;
        if (result == 1)
        {
            return true;
        }
        bool empty = OpenSsl.SSL_get_error(_ssl, 0) == OpenSsl.SSL_ERROR_WANT_READ;
        OpenSsl.ERR_clear_error();
        _socket.NoteReceive(seen, drained: empty);
        return !empty;
    }

    private int ReadFailed(int error, int errno, out bool wantRead)
    {
        wantRead = false;
        switch (error)
        {
            case OpenSsl.SSL_ERROR_WANT_READ:
                wantRead = true;
                return 0;
            case OpenSsl.SSL_ERROR_WANT_WRITE:
                // The read made OpenSSL answer (a KeyUpdate) and the ring is full: the writer that filled it
                // is about to send it; retry once it has (see Consume).
                _readerWaitsForRing ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wantRead = true;
                return 0;
            case OpenSsl.SSL_ERROR_ZERO_RETURN:
                return 0; // close_notify
            case OpenSsl.SSL_ERROR_SSL when OpenSslError.PeekLastReason() == OpenSsl.SSL_R_UNEXPECTED_EOF_WHILE_READING:
                OpenSsl.ERR_clear_error();
                // TCP EOF without close_notify. Between records it is an end of stream, as SslStream reads it;
                // inside a record the data was cut off.
                if (OpenSsl.SSL_has_pending(_ssl) == 0)
                {
                    return 0;
                }
                throw new IOException("HBONE TLS receive failed: the peer closed the connection in the middle of a TLS record");
            case OpenSsl.SSL_ERROR_SYSCALL when errno != 0:
                OpenSsl.ERR_clear_error();
                throw new IOException($"HBONE transport receive failed: {Marshal.GetPInvokeErrorMessage(errno)}");
            default:
                throw new IOException($"HBONE TLS receive failed: {OpenSslError.Drain($"SSL_read error {error}")}");
        }
    }
}
