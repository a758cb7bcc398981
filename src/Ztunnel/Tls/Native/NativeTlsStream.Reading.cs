using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Ztunnel.Tls.Native;

// Receive: records are opened from the receive buffer straight into the caller's buffer; when there are none, wait for
// readability.
internal sealed partial class NativeTlsStream
{
    // Plaintext of a record that did not fit the reader's buffer, left in place in the receive buffer (at this offset).
    private int _leftoverStart;
    private int _leftoverLength;
    private bool _peerClosed; // close_notify, or the end of the stream between records: reads return 0 from here on

    /// <summary>
    /// Decrypted bytes into <paramref name="buffer"/>: as many whole records as are already received, at least one byte;
    /// 0 at the end of the stream (close_notify, or the peer closed between records).
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

    /// <summary>
    /// The read for a reader on the poller's thread: opens what is received, receiving once if nothing is, never
    /// waiting. Bytes read, 0 at the end of the stream, -1 when nothing is there yet.
    /// </summary>
    internal int TryReadNow(Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        int read = TryRead(destination, waitIfDrained: false, out bool wantRead);
        return wantRead ? -1 : read;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadSlowAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
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
    /// last receive found it empty and the poller has seen nothing since. (The handshake's waits.)
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
    /// <paramref name="waitIfDrained"/>, a socket whose last receive drained it after a small take (see
    /// NativeTlsStream.SocketReads.cs), with no event since, is not asked again (that receive would be an EAGAIN). After
    /// a wait the receive is always made: the wait also ends for an end of stream or an error, which only a receive
    /// reports.
    /// </summary>
    private int TryRead(Span<byte> destination, bool waitIfDrained, out bool wantRead)
    {
        wantRead = false;
        lock (_lock)
        {
            ThrowIfDisposedLocked();
            if (destination.IsEmpty)
            {
                wantRead = !ReadWouldFindDataLocked(waitIfDrained);
                return 0;
            }
            int total = 0;
            while (true)
            {
                // What is already received, as far as the destination takes it: left-over plaintext, then whole records.
                try
                {
                    while (total < destination.Length)
                    {
                        if (_leftoverLength > 0)
                        {
                            total += TakeLeftoverLocked(destination[total..]);
                        }
                        else if (_peerClosed || !TryOpenRecordLocked(destination[total..], ref total))
                        {
                            break;
                        }
                    }
                }
                catch (TlsRecordRefusedException refused)
                {
                    SendFatalAlertLocked(refused.Alert);
                    throw;
                }
                if (total > 0 || _peerClosed)
                {
                    return total;
                }
                if (_peerEof)
                {
                    return EndOfStreamLocked();
                }
                if (waitIfDrained && !_socket.ReadMayFindData)
                {
                    wantRead = true;
                    return 0;
                }
                if (ReceiveLocked() < 0)
                {
                    wantRead = true;
                    return 0;
                }
                waitIfDrained = true; // what one receive left unfinished waits for the poller's next event
            }
        }
    }

    /// <summary>
    /// For a zero-byte read, which only asks whether a read would find data: true when there is plaintext or a whole
    /// record, or a receive brought bytes (or the end). When not, the buffer goes back before the caller waits.
    /// </summary>
    private bool ReadWouldFindDataLocked(bool waitIfDrained)
    {
        if (_leftoverLength > 0 || _peerClosed || _peerEof || HasWholeRecordLocked())
        {
            return true;
        }
        // After a drained small receive the answer is no without asking the socket: the receive would be an EAGAIN.
        if ((!waitIfDrained || _socket.ReadMayFindData) && ReceiveLocked() >= 0)
        {
            return true;
        }
        ReleaseReceiveBufferIfEmptyLocked();
        return false;
    }

    /// <summary>
    /// The end of the stream without close_notify: between records an end, as SslStream reads it; inside a record or a
    /// handshake message the data was cut off.
    /// </summary>
    private int EndOfStreamLocked()
    {
        if (_receiveEnd > _receiveStart || _postHandshakeLength > 0)
        {
            throw new IOException("HBONE TLS receive failed: the peer closed the connection in the middle of a TLS record");
        }
        _peerClosed = true;
        return 0;
    }

    private unsafe int TakeLeftoverLocked(Span<byte> destination)
    {
        int length = Math.Min(destination.Length, _leftoverLength);
        new ReadOnlySpan<byte>(_receiveBuffer + _leftoverStart, length).CopyTo(destination);
        _leftoverStart += length;
        _leftoverLength -= length;
        return length;
    }

    /// <summary>
    /// Opens the next record if it is all received: data goes to <paramref name="free"/> (counted in
    /// <paramref name="total"/>), what does not fit stays in the receive buffer as left-over; handshake messages and
    /// alerts are acted on. False when no whole record is there. Throws <see cref="IOException"/> for anything a TLS 1.3
    /// peer may not send.
    /// </summary>
    private unsafe bool TryOpenRecordLocked(Span<byte> free, ref int total)
    {
        int available = _receiveEnd - _receiveStart;
        if (available < TlsRecordProtection.HeaderSize)
        {
            return false;
        }
        byte* record = _receiveBuffer + _receiveStart;
        // RFC 8446 §5.1-5.2: after the handshake every record is protected, so its outer type is application_data
        // (a change_cipher_spec is allowed only during the handshake).
        if (record[0] != TlsRecordProtection.ContentApplicationData)
        {
            throw Refused(TlsAlert.UnexpectedMessage, $"a record of outer type {record[0]} after the handshake");
        }
        int bodyLength = (record[3] << 8) | record[4];
        if (bodyLength > TlsRecordProtection.MaxCiphertext)
        {
            throw Refused(TlsAlert.RecordOverflow, $"a record of {bodyLength} bytes, more than TLS allows");
        }
        if (bodyLength <= TlsRecordProtection.TagSize)
        {
            throw Refused(TlsAlert.DecodeError, $"a record of {bodyLength} bytes, too short to be protected");
        }
        if (available < TlsRecordProtection.HeaderSize + bodyLength)
        {
            return false;
        }
        int inner = _opener!.Open(record, bodyLength, free);
        _receiveStart += TlsRecordProtection.HeaderSize + bodyLength;
        int direct = Math.Min(free.Length, inner);
        Span<byte> inPlace = new(TlsRecordProtection.InPlaceStart(record, direct), inner - direct);

        // TLSInnerPlaintext: content, the real type, zero padding. The type is the last byte that is not zero.
        int end = inner;
        while (end > 0 && (end > direct ? inPlace[end - 1 - direct] : free[end - 1]) == 0)
        {
            end--;
        }
        if (end == 0)
        {
            throw Refused(TlsAlert.UnexpectedMessage, "a record with no content type");
        }
        int contentLength = end - 1;
        byte type = end > direct ? inPlace[contentLength - direct] : free[contentLength];
        if (contentLength > TlsRecordProtection.MaxPlaintext)
        {
            throw Refused(TlsAlert.RecordOverflow, $"a record with {contentLength} bytes of content, more than TLS allows");
        }
        switch (type)
        {
            case TlsRecordProtection.ContentApplicationData:
                if (_postHandshakeLength > 0)
                {
                    throw Refused(TlsAlert.UnexpectedMessage, "data in the middle of a handshake message");
                }
                total += Math.Min(contentLength, direct);
                if (contentLength > direct)
                {
                    _leftoverStart = (int)(TlsRecordProtection.InPlaceStart(record, direct) - _receiveBuffer);
                    _leftoverLength = contentLength - direct;
                }
                return true;
            case TlsRecordProtection.ContentHandshake:
            case TlsRecordProtection.ContentAlert:
                // Not data: nothing of it counts as read. Rare and short: joined into one piece if it was split.
                ReadOnlySpan<byte> content = contentLength <= direct ? free[..contentLength]
                    : direct == 0 ? inPlace[..contentLength]
                    : [.. free[..direct], .. inPlace[..(contentLength - direct)]];
                if (type == TlsRecordProtection.ContentHandshake)
                {
                    OnPostHandshakeLocked(content);
                }
                else
                {
                    if (_postHandshakeLength > 0)
                    {
                        throw Refused(TlsAlert.UnexpectedMessage, "an alert in the middle of a handshake message");
                    }
                    OnAlertLocked(content);
                }
                return true;
            default:
                throw Refused(TlsAlert.UnexpectedMessage, $"a record of content type {type}");
        }
    }
}
