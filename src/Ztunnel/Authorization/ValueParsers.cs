using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Ztunnel.Authorization;

/// <summary>Parsers for policy values (CIDRs, ports, principals) that report what was wrong, for the loader and the CLI.</summary>
internal static class ValueParsers
{
    private const string SpiffeScheme = "spiffe://";

    /// <summary>
    /// A single IP ("10.1.2.3", a /32 or /128) or a CIDR ("10.0.0.0/16"). Host bits after the prefix are ignored, as
    /// Istio does. Only dotted-quad IPv4 is accepted (not "10" or "10.1").
    /// </summary>
    public static bool TryParseNetwork(string text, out IPNetwork network, out string? error)
    {
        network = default;
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        string addressText = slash < 0 ? text : text[..slash];
        if (!TryParseAddress(addressText, out var address))
        {
            error = $"'{text}' is not a valid IP address or CIDR";
            return false;
        }
        int maxBits = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        int bits = maxBits;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out bits) || bits > maxBits))
        {
            error = $"'{text}' is not a valid CIDR (prefix length must be 0-{maxBits})";
            return false;
        }
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int length);
        bytes = bytes[..length];
        for (int bit = bits; bit < length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }
        network = new IPNetwork(new IPAddress(bytes), bits);
        error = null;
        return true;
    }

    public static bool TryParseAddress(string text, out IPAddress address)
    {
        address = IPAddress.None;
        if (text.Length == 0)
        {
            return false;
        }
        // IPAddress.TryParse accepts shorthand IPv4 ("10" = 0.0.0.10); policies never mean that.
        if (!text.Contains(':', StringComparison.Ordinal) && text.Count(c => c == '.') != 3)
        {
            return false;
        }
        if (!IPAddress.TryParse(text, out var parsed))
        {
            return false;
        }
        address = parsed.IsIPv4MappedToIPv6 ? parsed.MapToIPv4() : parsed;
        return true;
    }

    /// <summary>A TCP port 0-65535 written as decimal digits.</summary>
    public static bool TryParsePort(string text, out int port, out string? error)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port <= 65535)
        {
            error = null;
            return true;
        }
        error = $"'{text}' is not a port number (0-65535)";
        return false;
    }

    /// <summary>Istio principals may be written with the <c>spiffe://</c> scheme; matching uses the form without it.</summary>
    public static string StripSpiffe(string principal) =>
        principal.StartsWith(SpiffeScheme, StringComparison.Ordinal) ? principal[SpiffeScheme.Length..] : principal;
}
