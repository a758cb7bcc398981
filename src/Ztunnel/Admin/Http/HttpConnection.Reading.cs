using System.Net.Sockets;

namespace Ztunnel.Admin.Http;

internal sealed partial class HttpConnection
{
    private static readonly ReadOnlyMemory<byte> Continue = "HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray();

    /// <summary>
    /// Waits for the first bytes of the next request: leftover pipelined bytes, or a read after an idle wait
    /// (bounded by the request timeout on a new connection, by the keep-alive timeout after an answer).
    /// False when the client closed, the wait timed out quietly, or the server is stopping.
    /// </summary>
    private async Task<bool> NextRequestAsync(bool first)
    {
        if (_start < _end)
        {
            Arm(_options.RequestTimeout);
            return true;
        }
        _start = _end = 0;
        ReturnBuffer();
        if (Interlocked.CompareExchange(ref _state, Idle, Busy) != Busy || _server.Stopping)
        {
            return false;
        }
        Arm(first ? _options.RequestTimeout : _options.KeepAliveTimeout);
        // A zero-byte receive waits for data without holding a buffer (an idle keep-alive connection costs no array).
        await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, _deadline.Token);
        if (Interlocked.CompareExchange(ref _state, Busy, Idle) != Idle)
        {
            return false;
        }
        if (!first)
        {
            Arm(_options.RequestTimeout);
        }
        RentBuffer();
        _end = await _socket.ReceiveAsync(_buffer, SocketFlags.None, _deadline.Token);
        return _end > 0;
    }

    /// <summary>Reads until the head is complete; its end offset in the buffer, or -1 when the connection must close.</summary>
    private async Task<int> ReadHeadAsync()
    {
        byte[] buffer = _buffer!;
        int searched = 0;
        while (true)
        {
            // RFC 9112 §2.2: empty lines before a request line are ignored (some clients send one after a body).
            while (_end - _start >= 2 && buffer[_start] == '\r' && buffer[_start + 1] == '\n')
            {
                _start += 2;
                searched = 0;
            }
            ReadOnlySpan<byte> data = buffer.AsSpan(_start, _end - _start);
            int end = HttpRequestParser.FindHeadEnd(data, searched);
            if (end > _options.MaxHeadBytes || (end < 0 && data.Length >= _options.MaxHeadBytes))
            {
                await RejectAsync(new HttpError(431, $"request head is over the limit of {_options.MaxHeadBytes} bytes"));
                return -1;
            }
            if (end >= 0)
            {
                return _start + end;
            }
            if (HttpRequestParser.HasBareLineFeed(data))
            {
                await RejectAsync(new HttpError(400, "line ends with LF alone; HTTP/1.1 lines end with CRLF (RFC 9112 §2.2)"));
                return -1;
            }
            searched = data.Length;
            if (_start > 0)
            {
                data.CopyTo(buffer);
                _end -= _start;
                _start = 0;
            }
            int n = await _socket.ReceiveAsync(buffer.AsMemory(_end), SocketFlags.None, _deadline.Token);
            if (n == 0)
            {
                return -1;
            }
            _end += n;
        }
    }

    /// <summary>Reads the Content-Length body into <paramref name="body"/>; false when the client closed before it was complete.</summary>
    private async Task<bool> ReadBodyAsync(int headEnd, byte[] body)
    {
        int length = _request.ContentLength;
        int have = Math.Min(_end - headEnd, length);
        _buffer.AsSpan(headEnd, have).CopyTo(body);
        _start = headEnd + have;
        if (have < length && _request.ExpectContinue)
        {
            // RFC 9110 §10.1.1: the client waits for this before it sends the body.
            await _socket.SendAsync(Continue, SocketFlags.None, _deadline.Token);
        }
        while (have < length)
        {
            int n = await _socket.ReceiveAsync(body.AsMemory(have, length - have), SocketFlags.None, _deadline.Token);
            if (n == 0)
            {
                return false;
            }
            have += n;
        }
        _request.Body = body.AsMemory(0, length);
        return true;
    }
}
