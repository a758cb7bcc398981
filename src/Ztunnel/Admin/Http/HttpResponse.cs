using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Ztunnel.Admin.Http;

/// <summary>
/// The answer a handler builds: status, content type, Allow (for 405) and a body. The body is buffered (pooled)
/// and sent with a Content-Length when the handler returns; for HEAD only the head is sent.
/// </summary>
internal sealed class HttpResponse
{
    public const string PlainText = "text/plain; charset=utf-8";
    public const string Json = "application/json";

    private readonly ResponseBuffer _body = new();
    private string? _contentType;
    private string? _allow;
    private int _statusCode = 200;

    public int StatusCode
    {
        get => _statusCode;
        set => _statusCode = value is >= 200 and <= 599 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "a final status code is 200-599");
    }

    /// <summary>The Content-Type of the body (printable ASCII; checked so a handler cannot inject header lines).</summary>
    public string? ContentType
    {
        get => _contentType;
        set => _contentType = HeaderValue(value);
    }

    /// <summary>The methods a 405 answer names (RFC 9110 §15.5.6), e.g. "GET, HEAD".</summary>
    public string? Allow
    {
        get => _allow;
        set => _allow = HeaderValue(value);
    }

    /// <summary>The body: write into it (a <see cref="Telemetry.PrometheusWriter"/>, a Utf8JsonWriter) or use the helpers below.</summary>
    public IBufferWriter<byte> Body => _body;

    internal ResponseBuffer Buffer => _body;

    /// <summary>Sets status and a plain-text (UTF-8) body.</summary>
    public void Text(int statusCode, string text)
    {
        StatusCode = statusCode;
        ContentType = PlainText;
        Encoding.UTF8.GetBytes(text, _body);
    }

    /// <summary>Sets status and a JSON body, written with the indentation and encoder of <paramref name="typeInfo"/>'s options.</summary>
    public void WriteJson<T>(int statusCode, T value, JsonTypeInfo<T> typeInfo)
    {
        StatusCode = statusCode;
        ContentType = Json;
        JsonSerializerOptions options = typeInfo.Options;
        using var writer = new Utf8JsonWriter(_body, new JsonWriterOptions { Indented = options.WriteIndented, Encoder = options.Encoder, SkipValidation = true });
        JsonSerializer.Serialize(writer, value, typeInfo);
    }

    internal void Reset()
    {
        StatusCode = 200;
        _contentType = null;
        _allow = null;
        _body.Release();
    }

    /// <summary>Writes the status line and header fields (RFC 9112 §4, §6.3) into <paramref name="head"/>; returns the length.</summary>
    internal int FormatHead(Span<byte> head, DateTimeOffset now, bool keepAlive, bool http10)
    {
        int n = 0;
        Append(head, ref n, "HTTP/1.1 "u8);
        Utf8Formatter.TryFormat(StatusCode, head[n..], out int written);
        n += written;
        head[n++] = (byte)' ';
        n += Encoding.ASCII.GetBytes(Reason(StatusCode), head[n..]);
        Append(head, ref n, "\r\nDate: "u8);
        now.UtcDateTime.TryFormat(head[n..], out written, "R");
        n += written;
        if (_contentType is not null)
        {
            Append(head, ref n, "\r\nContent-Type: "u8);
            n += Encoding.ASCII.GetBytes(_contentType, head[n..]);
        }
        Append(head, ref n, "\r\nContent-Length: "u8);
        Utf8Formatter.TryFormat(_body.Length, head[n..], out written);
        n += written;
        if (_allow is not null)
        {
            Append(head, ref n, "\r\nAllow: "u8);
            n += Encoding.ASCII.GetBytes(_allow, head[n..]);
        }
        if (!keepAlive)
        {
            Append(head, ref n, "\r\nConnection: close"u8);
        }
        else if (http10)
        {
            Append(head, ref n, "\r\nConnection: keep-alive"u8);
        }
        Append(head, ref n, "\r\n\r\n"u8);
        return n;
    }

    internal static string Reason(int statusCode) => statusCode switch
    {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Content Too Large",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",   // the reason phrase is optional (RFC 9112 §4)
    };

    private static void Append(Span<byte> head, ref int n, ReadOnlySpan<byte> text)
    {
        text.CopyTo(head[n..]);
        n += text.Length;
    }

    private static string? HeaderValue(string? value)
    {
        if (value is not null && (value.Length > 100 || value.AsSpan().ContainsAnyExceptInRange(' ', '~')))
        {
            throw new ArgumentException($"header value '{value}' is not at most 100 printable ASCII characters", nameof(value));
        }
        return value;
    }
}
