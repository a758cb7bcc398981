using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Ztunnel.Tests.Admin.Http;

/// <summary>A client on a plain socket: sends exactly the bytes a test writes, reads answers one by one.</summary>
internal sealed class RawHttpConnection : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[256 * 1024];
    private int _start;
    private int _end;

    private RawHttpConnection(Socket socket)
    {
        _socket = socket;
    }

    public static async Task<RawHttpConnection> ConnectAsync(EndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, endPoint is UnixDomainSocketEndPoint ? ProtocolType.Unspecified : ProtocolType.Tcp);
        await socket.ConnectAsync(endPoint).WaitAsync(Guard);
        return new RawHttpConnection(socket);
    }

    public Task SendAsync(string text) => SendAsync(Encoding.Latin1.GetBytes(text));

    public async Task SendAsync(byte[] bytes) => await _socket.SendAsync(bytes).WaitAsync(Guard);

    /// <summary>Reads one answer: status, header fields (names lower-cased) and the Content-Length body (none for HEAD).</summary>
    public async Task<RawResponse> ReadResponseAsync(bool head = false)
    {
        int headEnd;
        while ((headEnd = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8)) < 0)
        {
            await FillAsync();
        }
        string[] lines = Encoding.Latin1.GetString(_buffer, _start, headEnd).Split("\r\n");
        _start += headEnd + 4;
        var headers = new Dictionary<string, string>();
        foreach (string line in lines.Skip(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            headers[line[..colon].ToLowerInvariant()] = line[(colon + 1)..].Trim();
        }
        int status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        int length = head || status == 100 || !headers.TryGetValue("content-length", out string? value)
            ? 0 : int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
        while (_end - _start < length)
        {
            await FillAsync();
        }
        string body = Encoding.UTF8.GetString(_buffer, _start, length);
        _start += length;
        return new RawResponse(status, lines[0], headers, body);
    }

    /// <summary>True when the server closed the connection (end of stream or reset) with nothing more to read.</summary>
    public async Task<bool> IsClosedByServerAsync()
    {
        if (_end > _start)
        {
            return false;
        }
        try
        {
            return await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None).AsTask().WaitAsync(Guard) == 0;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    public void Dispose() => _socket.Dispose();

    private async Task FillAsync()
    {
        if (_end == _buffer.Length)
        {
            throw new InvalidOperationException("answer larger than the test buffer");
        }
        int n = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None).AsTask().WaitAsync(Guard);
        if (n == 0)
        {
            throw new EndOfStreamException($"server closed the connection; unread: '{Encoding.Latin1.GetString(_buffer, _start, _end - _start)}'");
        }
        _end += n;
    }
}

internal sealed record RawResponse(int Status, string StatusLine, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out string? value) ? value : null;
}
