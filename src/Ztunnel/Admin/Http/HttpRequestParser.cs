using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Ztunnel.Admin.Http;

/// <summary>
/// Parses a request head (RFC 9112 §2-§6), strictly: CRLF line ends, no obs-fold, no whitespace before a
/// field's colon, one Host on HTTP/1.1, one Content-Length, no Transfer-Encoding (bodies come with a length).
/// </summary>
internal static class HttpRequestParser
{
    // tchar (RFC 9110 §5.6.2): the characters of a method or a field name.
    private static readonly SearchValues<byte> Token =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    /// <summary>The offset just past the blank line that ends the head in <paramref name="data"/>, or -1.</summary>
    public static int FindHeadEnd(ReadOnlySpan<byte> data, int searchFrom)
    {
        int from = Math.Max(0, searchFrom - 3);
        int at = data[from..].IndexOf("\r\n\r\n"u8);
        return at < 0 ? -1 : from + at + 4;
    }

    /// <summary>A line feed without its carriage return (RFC 9112 §2.2: we do not accept bare LF).</summary>
    public static bool HasBareLineFeed(ReadOnlySpan<byte> data)
    {
        int offset = 0;
        int at;
        while ((at = data[offset..].IndexOf((byte)'\n')) >= 0)
        {
            if (offset + at == 0 || data[offset + at - 1] != '\r')
            {
                return true;
            }
            offset += at + 1;
        }
        return false;
    }

    /// <summary>Parses <c>buffer[start..end]</c> (a whole head, its blank line included) into <paramref name="request"/>.</summary>
    public static HttpError? Parse(byte[] buffer, int start, int end, HttpServerOptions options, HttpRequest request)
    {
        request.Reset(buffer);
        ReadOnlySpan<byte> head = buffer.AsSpan(start, end - start - 2);   // without the blank line's CRLF
        int lineEnd = head.IndexOf("\r\n"u8);
        if (ParseRequestLine(head[..lineEnd], request) is { } bad)
        {
            return bad;
        }
        int offset = lineEnd + 2;
        bool host = false;
        bool contentLength = false;
        while (offset < head.Length)
        {
            int length = head[offset..].IndexOf("\r\n"u8);
            ReadOnlySpan<byte> line = head.Slice(offset, length);
            if (request.HeaderCount == options.MaxHeaderCount)
            {
                return new HttpError(431, $"more than {options.MaxHeaderCount} header fields");
            }
            if (line[0] is (byte)' ' or (byte)'\t')
            {
                return new HttpError(400, "obsolete line folding in a header field (RFC 9112 §5.2)");
            }
            int colon = line.IndexOf((byte)':');
            if (colon <= 0 || line[..colon].ContainsAnyExcept(Token))
            {
                return new HttpError(400, $"malformed header field '{Printable(line)}'");
            }
            ReadOnlySpan<byte> value = line[(colon + 1)..].Trim(" \t"u8);
            if (ContainsControl(value))
            {
                return new HttpError(400, $"control character in header field '{Printable(line[..colon])}'");
            }
            int valueStart = start + offset + colon + 1 + line[(colon + 1)..].IndexOfAnyExcept(" \t"u8);
            request.AddHeader(start + offset, colon, value.IsEmpty ? start + offset + line.Length : valueStart, value.Length);
            if (Special(line[..colon], value, request, ref host, ref contentLength, options) is { } error)
            {
                return error;
            }
            offset += length + 2;
        }
        if (!request.IsHttp10 && !host)
        {
            return new HttpError(400, "HTTP/1.1 request without a Host header (RFC 9112 §3.2)");
        }
        return null;
    }

    private static HttpError? ParseRequestLine(ReadOnlySpan<byte> line, HttpRequest request)
    {
        // method SP request-target SP HTTP-version (RFC 9112 §3)
        int first = line.IndexOf((byte)' ');
        int last = line.LastIndexOf((byte)' ');
        if (first <= 0 || last == first || line[..first].ContainsAnyExcept(Token))
        {
            return new HttpError(400, $"malformed request line '{Printable(line)}'");
        }
        ReadOnlySpan<byte> target = line[(first + 1)..last];
        ReadOnlySpan<byte> version = line[(last + 1)..];
        if (target.IsEmpty || target.ContainsAnyExceptInRange((byte)0x21, (byte)0x7e))
        {
            return new HttpError(400, $"malformed request target in '{Printable(line)}'");
        }
        if (version.Length != 8 || !version.StartsWith("HTTP/"u8) || !char.IsAsciiDigit((char)version[5]) || version[6] != '.' || !char.IsAsciiDigit((char)version[7]))
        {
            return new HttpError(400, $"malformed HTTP version in '{Printable(line)}'");
        }
        if (version[5] != '1')
        {
            return new HttpError(505, $"HTTP version {Encoding.ASCII.GetString(version)} is not supported; use HTTP/1.1");
        }
        // absolute-form (RFC 9112 §3.2.2): a server must accept it; the authority is ignored (one site per server).
        if (target.StartsWith("http://"u8) || target.StartsWith("https://"u8))
        {
            int authority = target.IndexOf("//"u8) + 2;
            int slash = target[authority..].IndexOf((byte)'/');
            target = slash < 0 ? "/"u8 : target[(authority + slash)..];
        }
        if (target[0] != '/')
        {
            return new HttpError(400, $"request target '{Printable(target)}' is not a path");
        }
        int question = target.IndexOf((byte)'?');
        ReadOnlySpan<byte> path = question < 0 ? target : target[..question];
        string query = question < 0 ? "" : Encoding.ASCII.GetString(target[(question + 1)..]);
        request.SetRequestLine(MethodName(line[..first]), Encoding.ASCII.GetString(path), query, version[7] == '0');
        return null;
    }

    private static HttpError? Special(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, HttpRequest request, ref bool host, ref bool contentLength, HttpServerOptions options)
    {
        if (Ascii.EqualsIgnoreCase(name, "Host"u8))
        {
            if (host)
            {
                return new HttpError(400, "more than one Host header (RFC 9112 §3.2)");
            }
            host = true;
        }
        else if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
        {
            // One decimal number (RFC 9110 §8.6); a list or a second field could be a smuggling attempt.
            if (contentLength || value.IsEmpty || value.ContainsAnyExceptInRange((byte)'0', (byte)'9'))
            {
                return new HttpError(400, $"invalid Content-Length '{Printable(value)}'");
            }
            contentLength = true;
            if (!Utf8Parser.TryParse(value, out long length, out _) || length > options.MaxBodyBytes)
            {
                return new HttpError(413, $"request body of {Printable(value)} bytes is over the limit of {options.MaxBodyBytes} bytes");
            }
            request.SetContentLength((int)length);
        }
        else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
        {
            // RFC 9112 §6.1: 501 for a coding we do not implement; chunked is refused too, with 411, to keep one framing.
            return HasToken(value, "chunked"u8)
                ? new HttpError(411, "chunked request bodies are not accepted; send the body with a Content-Length")
                : new HttpError(501, $"transfer coding '{Printable(value)}' is not implemented; send the body with a Content-Length");
        }
        else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
        {
            if (HasToken(value, "close"u8))
            {
                request.SetKeepAlive(false);
            }
            else if (request.IsHttp10 && HasToken(value, "keep-alive"u8))
            {
                request.SetKeepAlive(true);
            }
        }
        else if (Ascii.EqualsIgnoreCase(name, "Expect"u8))
        {
            if (!Ascii.EqualsIgnoreCase(value, "100-continue"u8))
            {
                return new HttpError(417, $"expectation '{Printable(value)}' is not supported (only 100-continue)");
            }
            request.SetExpectContinue();
        }
        return null;
    }

    private static bool HasToken(ReadOnlySpan<byte> list, ReadOnlySpan<byte> token)
    {
        foreach (Range range in list.Split((byte)','))
        {
            if (Ascii.EqualsIgnoreCase(list[range].Trim(" \t"u8), token))
            {
                return true;
            }
        }
        return false;
    }

    private static bool ContainsControl(ReadOnlySpan<byte> value)
    {
        foreach (byte b in value)
        {
            if ((b < 0x20 && b != '\t') || b == 0x7f)
            {
                return true;
            }
        }
        return false;
    }

    // The common methods without a string allocation per request.
    private static string MethodName(ReadOnlySpan<byte> method) => method switch
    {
        _ when method.SequenceEqual("GET"u8) => "GET",
        _ when method.SequenceEqual("HEAD"u8) => "HEAD",
        _ when method.SequenceEqual("POST"u8) => "POST",
        _ when method.SequenceEqual("PUT"u8) => "PUT",
        _ when method.SequenceEqual("DELETE"u8) => "DELETE",
        _ => Encoding.ASCII.GetString(method),
    };

    /// <summary>Input quoted back in an error: printable ASCII only, at most 100 characters.</summary>
    internal static string Printable(ReadOnlySpan<byte> bytes)
    {
        ReadOnlySpan<byte> shown = bytes.Length > 100 ? bytes[..100] : bytes;
        var text = new StringBuilder(shown.Length + 3);
        foreach (byte b in shown)
        {
            text.Append(b is >= 0x20 and < 0x7f ? (char)b : '?');
        }
        return bytes.Length > 100 ? text.Append("...").ToString() : text.ToString();
    }
}
