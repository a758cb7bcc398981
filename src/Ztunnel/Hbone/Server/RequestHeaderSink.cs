using System.Text;
using Ztunnel.Hbone.Hpack;

namespace Ztunnel.Hbone.Server;

/// <summary>
/// Collects what the HBONE server needs from a request header block and checks the rules that make a
/// request malformed (RFC 9113 §8.2, §8.3, §8.5). Reused for every block of a connection; allocates only
/// the strings it keeps (the authority and the three headers HBONE carries).
/// </summary>
/// <remarks>
/// Malformed (a stream error PROTOCOL_ERROR, §8.1.1) is different from well-formed but not HBONE: a GET,
/// or a CONNECT whose authority is a name, is a valid request that the server answers with 400.
/// </remarks>
internal sealed class RequestHeaderSink : IHeaderSink
{
    private bool _sawRegular;

    /// <summary>Why the block is malformed, or null.</summary>
    public string? Error { get; private set; }

    public string? Method { get; private set; }
    public string? Authority { get; private set; }
    public bool HasScheme { get; private set; }
    public bool HasPath { get; private set; }
    public string? Forwarded { get; private set; }
    public string? Baggage { get; private set; }
    public string? TraceParent { get; private set; }

    public void Reset()
    {
        _sawRegular = false;
        Error = null;
        Method = null;
        Authority = null;
        HasScheme = false;
        HasPath = false;
        Forwarded = null;
        Baggage = null;
        TraceParent = null;
    }

    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (Error is not null)
        {
            return;
        }
        if (!IsValidValue(value))
        {
            // §8.2.1: NUL, CR, LF anywhere, or leading/trailing whitespace, make the request malformed.
            Error = $"header '{Ascii(name)}' has a value with NUL, CR, LF or surrounding whitespace";
            return;
        }
        if (!name.IsEmpty && name[0] == (byte)':')
        {
            OnPseudoHeader(name, value);
            return;
        }
        _sawRegular = true;
        if (!IsValidName(name))
        {
            Error = $"header name '{Ascii(name)}' is empty or has uppercase or non-token characters (RFC 9113 §8.2.1)";
        }
        else if (name.SequenceEqual("connection"u8) || name.SequenceEqual("keep-alive"u8) || name.SequenceEqual("proxy-connection"u8)
            || name.SequenceEqual("transfer-encoding"u8) || name.SequenceEqual("upgrade"u8))
        {
            Error = $"connection-specific header '{Ascii(name)}' is not allowed in HTTP/2 (RFC 9113 §8.2.2)";
        }
        else if (name.SequenceEqual("te"u8) && !value.SequenceEqual("trailers"u8))
        {
            Error = "header 'te' may only be 'trailers' (RFC 9113 §8.2.2)";
        }
        else if (name.SequenceEqual("forwarded"u8))
        {
            Forwarded = Join(Forwarded, value);
        }
        else if (name.SequenceEqual("baggage"u8))
        {
            Baggage = Join(Baggage, value);
        }
        else if (name.SequenceEqual("traceparent"u8))
        {
            TraceParent ??= Ascii(value);
        }
    }

    /// <summary>Called after the block: the checks that need the whole request (RFC 9113 §8.3.1, §8.5).</summary>
    public string? Validate()
    {
        if (Error is not null)
        {
            return Error;
        }
        if (Method is null)
        {
            return "no :method";
        }
        if (Method == "CONNECT")
        {
            // §8.5: CONNECT carries :authority and neither :scheme nor :path.
            if (Authority is null)
            {
                return "CONNECT without :authority";
            }
            if (HasScheme || HasPath)
            {
                return "CONNECT with :scheme or :path";
            }
            return null;
        }
        // Any other method needs :scheme and :path (§8.3.1); it is well formed but not HBONE (answered 400).
        return HasScheme && HasPath ? null : $"{Method} without :scheme or :path";
    }

    private void OnPseudoHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (_sawRegular)
        {
            Error = $"pseudo-header '{Ascii(name)}' after a regular header (RFC 9113 §8.3)";
        }
        else if (name.SequenceEqual(":method"u8))
        {
            Error = Method is null ? null : ":method appears twice";
            Method = value.SequenceEqual("CONNECT"u8) ? "CONNECT" : Ascii(value);
        }
        else if (name.SequenceEqual(":authority"u8))
        {
            Error = Authority is null ? null : ":authority appears twice";
            Authority = Ascii(value);
        }
        else if (name.SequenceEqual(":scheme"u8))
        {
            Error = HasScheme ? ":scheme appears twice" : null;
            HasScheme = true;
        }
        else if (name.SequenceEqual(":path"u8))
        {
            Error = HasPath ? ":path appears twice" : null;
            HasPath = true;
        }
        else
        {
            // :status in a request, or :protocol (RFC 8441 extended CONNECT, which needs
            // SETTINGS_ENABLE_CONNECT_PROTOCOL; we do not send it): unknown here, so malformed (§8.3).
            Error = $"pseudo-header '{Ascii(name)}' is not allowed in an HBONE request";
        }
    }

    // RFC 9110 §5.1 token characters, lowercase only in HTTP/2 (RFC 9113 §8.2.1).
    private static bool IsValidName(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty)
        {
            return false;
        }
        foreach (byte c in name)
        {
            if (!(c is >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9' or (byte)'-' or (byte)'_' or (byte)'.' or (byte)'!'
                or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*' or (byte)'+' or (byte)'^' or (byte)'`'
                or (byte)'|' or (byte)'~'))
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsValidValue(ReadOnlySpan<byte> value)
    {
        if (value.IndexOfAny((byte)0, (byte)'\r', (byte)'\n') >= 0)
        {
            return false;
        }
        return value.IsEmpty || (value[0] is not ((byte)' ' or (byte)'\t') && value[^1] is not ((byte)' ' or (byte)'\t'));
    }

    // A repeated field is one list (RFC 9110 §5.3).
    private static string Join(string? existing, ReadOnlySpan<byte> value) =>
        existing is null ? Ascii(value) : existing + ", " + Ascii(value);

    private static string Ascii(ReadOnlySpan<byte> bytes) => Encoding.ASCII.GetString(bytes);
}
