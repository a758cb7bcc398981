using System.Text;

namespace Ztunnel.Admin.Http;

/// <summary>
/// One request as a handler sees it: the head is parsed and the whole body (at most
/// <see cref="HttpServerOptions.MaxBodyBytes"/>) has arrived before the handler runs. Valid only during the
/// handler call: the connection reuses the object and its buffers for the next request.
/// </summary>
internal sealed class HttpRequest
{
    private readonly List<HeaderRange> _headers = [];
    private byte[] _head = [];

    /// <summary>The method as sent (case-sensitive, RFC 9110 §9.1): GET, HEAD, POST, ...</summary>
    public string Method { get; private set; } = "";

    /// <summary>The path of the request target, as sent (percent-encoding kept; decode the segments you take as data).</summary>
    public string Path { get; private set; } = "";

    /// <summary>The query without its '?', as sent; empty when there is none.</summary>
    public string Query { get; private set; } = "";

    /// <summary>The request body (empty when the request had none).</summary>
    public ReadOnlyMemory<byte> Body { get; internal set; }

    /// <summary>GET, or HEAD: a HEAD runs the GET handler and the server sends the head of its answer only (RFC 9110 §9.3.2).</summary>
    public bool IsGetOrHead => Method is "GET" or "HEAD";

    public bool IsHead => Method == "HEAD";

    /// <summary>True for an HTTP/1.0 request.</summary>
    public bool IsHttp10 { get; private set; }

    /// <summary>Content-Length as sent; 0 when absent.</summary>
    internal int ContentLength { get; private set; }

    /// <summary>The client asked for the connection to stay open (HTTP/1.1 without "close", HTTP/1.0 with "keep-alive").</summary>
    internal bool KeepAlive { get; private set; }

    internal bool ExpectContinue { get; private set; }

    /// <summary>The value of the first field named <paramref name="name"/> (case-insensitive), or null.</summary>
    public string? Header(string name)
    {
        foreach (HeaderRange header in _headers)
        {
            if (NameEquals(header, name))
            {
                return Encoding.Latin1.GetString(_head, header.ValueStart, header.ValueLength);
            }
        }
        return null;
    }

    /// <summary>The first value of query parameter <paramref name="name"/>, decoded ('+' and %XX), or null.</summary>
    public string? QueryValue(string name)
    {
        ReadOnlySpan<char> rest = Query;
        while (!rest.IsEmpty)
        {
            int amp = rest.IndexOf('&');
            ReadOnlySpan<char> pair = amp < 0 ? rest : rest[..amp];
            rest = amp < 0 ? default : rest[(amp + 1)..];
            int eq = pair.IndexOf('=');
            ReadOnlySpan<char> key = eq < 0 ? pair : pair[..eq];
            if (Decode(key) == name)
            {
                return eq < 0 ? "" : Decode(pair[(eq + 1)..]);
            }
        }
        return null;
    }

    internal void Reset(byte[] head)
    {
        _head = head;
        _headers.Clear();
        Method = Path = Query = "";
        Body = default;
        IsHttp10 = false;
        ContentLength = 0;
        KeepAlive = false;
        ExpectContinue = false;
    }

    internal void SetRequestLine(string method, string path, string query, bool http10)
    {
        Method = method;
        Path = path;
        Query = query;
        IsHttp10 = http10;
        KeepAlive = !http10;
    }

    internal int HeaderCount => _headers.Count;

    internal void AddHeader(int nameStart, int nameLength, int valueStart, int valueLength) =>
        _headers.Add(new HeaderRange(nameStart, nameLength, valueStart, valueLength));

    internal void SetContentLength(int length) => ContentLength = length;

    internal void SetKeepAlive(bool keepAlive) => KeepAlive = keepAlive;

    internal void SetExpectContinue() => ExpectContinue = true;

    private bool NameEquals(HeaderRange header, string name)
    {
        if (header.NameLength != name.Length)
        {
            return false;
        }
        ReadOnlySpan<byte> bytes = _head.AsSpan(header.NameStart, header.NameLength);
        for (int i = 0; i < bytes.Length; i++)
        {
            if (char.ToLowerInvariant((char)bytes[i]) != char.ToLowerInvariant(name[i]))
            {
                return false;
            }
        }
        return true;
    }

    private static string Decode(ReadOnlySpan<char> encoded) =>
        encoded.ContainsAny('%', '+') ? Uri.UnescapeDataString(encoded.ToString().Replace('+', ' ')) : encoded.ToString();

    private readonly record struct HeaderRange(int NameStart, int NameLength, int ValueStart, int ValueLength);
}
