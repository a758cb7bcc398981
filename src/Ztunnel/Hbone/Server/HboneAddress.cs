using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;

namespace Ztunnel.Hbone.Server;

/// <summary>Parsing of the addresses a CONNECT carries: <c>:authority</c> and <c>forwarded: for=</c>.</summary>
internal static class HboneAddress
{
    /// <summary>
    /// Parses a CONNECT <c>:authority</c>: an IP literal and a port, <c>10.0.0.5:80</c> or <c>[fd00::5]:80</c>
    /// (RFC 9113 §8.5: authority-form, host and port). Names are refused: HBONE always targets a pod IP.
    /// </summary>
    public static bool TryParseAuthority(string? authority, [NotNullWhen(true)] out IPEndPoint? endPoint, [NotNullWhen(false)] out string? error)
    {
        endPoint = null;
        if (string.IsNullOrEmpty(authority))
        {
            error = "CONNECT has no :authority";
            return false;
        }
        if (!TrySplitHostPort(authority, requirePort: true, out var address, out int port))
        {
            error = $"CONNECT :authority '{authority}' is not <ip>:<port> or [<ipv6>]:<port>";
            return false;
        }
        if (port == 0)
        {
            error = $"CONNECT :authority '{authority}' has port 0";
            return false;
        }
        endPoint = new IPEndPoint(address, port);
        error = null;
        return true;
    }

    /// <summary>
    /// The first <c>for=</c> node of a <c>forwarded</c> header (RFC 7239 §4, §6): <c>for="10.0.0.1:4711"</c>,
    /// <c>for=10.0.0.1</c>, <c>for="[fd00::1]:4711"</c>. Port 0 when it has none. Null for obfuscated or
    /// unknown nodes and for anything malformed.
    /// </summary>
    public static IPEndPoint? ParseForwardedFor(string? forwarded)
    {
        if (string.IsNullOrEmpty(forwarded))
        {
            return null;
        }
        var rest = forwarded.AsSpan();
        while (!rest.IsEmpty)
        {
            // Pairs are separated by ';' and elements by ','; a quoted value never holds either for an IP.
            int end = rest.IndexOfAny(';', ',');
            var pair = (end < 0 ? rest : rest[..end]).Trim();
            rest = end < 0 ? [] : rest[(end + 1)..];
            if (pair.Length > 4 && pair[..4].Equals("for=", StringComparison.OrdinalIgnoreCase))
            {
                var value = pair[4..];
                if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
                {
                    value = value[1..^1];
                }
                return TrySplitHostPort(value, requirePort: false, out var address, out int port) ? new IPEndPoint(address, port) : null;
            }
        }
        return null;
    }

    private static bool TrySplitHostPort(ReadOnlySpan<char> text, bool requirePort, [NotNullWhen(true)] out IPAddress? address, out int port)
    {
        address = null;
        port = 0;
        ReadOnlySpan<char> host;
        ReadOnlySpan<char> portText;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']');
            if (close < 0)
            {
                return false;
            }
            host = text[1..close];
            var after = text[(close + 1)..];
            if (after.IsEmpty)
            {
                portText = [];
            }
            else if (after[0] == ':')
            {
                portText = after[1..];
            }
            else
            {
                return false;
            }
            if (!IPAddress.TryParse(host, out address) || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                return false;
            }
        }
        else
        {
            int colon = text.LastIndexOf(':');
            host = colon < 0 ? text : text[..colon];
            portText = colon < 0 ? [] : text[(colon + 1)..];
            // Without brackets only IPv4 is unambiguous, and only dotted-quad: IPAddress.TryParse would
            // also take "10.1" or "0x0a000001", forms no HBONE peer sends.
            if (!IsDottedQuad(host) || !IPAddress.TryParse(host, out address) || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
            {
                address = null;
                return false;
            }
        }
        if (portText.IsEmpty)
        {
            return !requirePort;
        }
        // Digits only: int.TryParse would take signs and spaces.
        foreach (char c in portText)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }
        return portText.Length <= 5 && int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port <= IPEndPoint.MaxPort;
    }

    private static bool IsDottedQuad(ReadOnlySpan<char> host)
    {
        if (host.Count('.') != 3)
        {
            return false;
        }
        foreach (char c in host)
        {
            if (!(char.IsAsciiDigit(c) || c == '.'))
            {
                return false;
            }
        }
        return true;
    }
}
