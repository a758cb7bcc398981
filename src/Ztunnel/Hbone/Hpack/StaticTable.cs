namespace Ztunnel.Hbone.Hpack;

/// <summary>The HPACK static table (RFC 7541 Appendix A): 61 entries, 1-based, shared by every connection.</summary>
internal static class StaticTable
{
    public const int Count = 61;

    // Index 0 is unused so that array index == HPACK index.
    private static readonly byte[][] _names =
    [
        [],
        ":authority"u8.ToArray(), // 1
        ":method"u8.ToArray(), // 2
        ":method"u8.ToArray(), // 3
        ":path"u8.ToArray(), // 4
        ":path"u8.ToArray(), // 5
        ":scheme"u8.ToArray(), // 6
        ":scheme"u8.ToArray(), // 7
        ":status"u8.ToArray(), // 8
        ":status"u8.ToArray(), // 9
        ":status"u8.ToArray(), // 10
        ":status"u8.ToArray(), // 11
        ":status"u8.ToArray(), // 12
        ":status"u8.ToArray(), // 13
        ":status"u8.ToArray(), // 14
        "accept-charset"u8.ToArray(), // 15
        "accept-encoding"u8.ToArray(), // 16
        "accept-language"u8.ToArray(), // 17
        "accept-ranges"u8.ToArray(), // 18
        "accept"u8.ToArray(), // 19
        "access-control-allow-origin"u8.ToArray(), // 20
        "age"u8.ToArray(), // 21
        "allow"u8.ToArray(), // 22
        "authorization"u8.ToArray(), // 23
        "cache-control"u8.ToArray(), // 24
        "content-disposition"u8.ToArray(), // 25
        "content-encoding"u8.ToArray(), // 26
        "content-language"u8.ToArray(), // 27
        "content-length"u8.ToArray(), // 28
        "content-location"u8.ToArray(), // 29
        "content-range"u8.ToArray(), // 30
        "content-type"u8.ToArray(), // 31
        "cookie"u8.ToArray(), // 32
        "date"u8.ToArray(), // 33
        "etag"u8.ToArray(), // 34
        "expect"u8.ToArray(), // 35
        "expires"u8.ToArray(), // 36
        "from"u8.ToArray(), // 37
        "host"u8.ToArray(), // 38
        "if-match"u8.ToArray(), // 39
        "if-modified-since"u8.ToArray(), // 40
        "if-none-match"u8.ToArray(), // 41
        "if-range"u8.ToArray(), // 42
        "if-unmodified-since"u8.ToArray(), // 43
        "last-modified"u8.ToArray(), // 44
        "link"u8.ToArray(), // 45
        "location"u8.ToArray(), // 46
        "max-forwards"u8.ToArray(), // 47
        "proxy-authenticate"u8.ToArray(), // 48
        "proxy-authorization"u8.ToArray(), // 49
        "range"u8.ToArray(), // 50
        "referer"u8.ToArray(), // 51
        "refresh"u8.ToArray(), // 52
        "retry-after"u8.ToArray(), // 53
        "server"u8.ToArray(), // 54
        "set-cookie"u8.ToArray(), // 55
        "strict-transport-security"u8.ToArray(), // 56
        "transfer-encoding"u8.ToArray(), // 57
        "user-agent"u8.ToArray(), // 58
        "vary"u8.ToArray(), // 59
        "via"u8.ToArray(), // 60
        "www-authenticate"u8.ToArray(), // 61
    ];

    private static readonly byte[][] _values =
    [
        [],
        [], // 1
        "GET"u8.ToArray(), // 2
        "POST"u8.ToArray(), // 3
        "/"u8.ToArray(), // 4
        "/index.html"u8.ToArray(), // 5
        "http"u8.ToArray(), // 6
        "https"u8.ToArray(), // 7
        "200"u8.ToArray(), // 8
        "204"u8.ToArray(), // 9
        "206"u8.ToArray(), // 10
        "304"u8.ToArray(), // 11
        "400"u8.ToArray(), // 12
        "404"u8.ToArray(), // 13
        "500"u8.ToArray(), // 14
        [], // 15
        "gzip, deflate"u8.ToArray(), // 16
        [], // 17
        [], // 18
        [], // 19
        [], // 20
        [], // 21
        [], // 22
        [], // 23
        [], // 24
        [], // 25
        [], // 26
        [], // 27
        [], // 28
        [], // 29
        [], // 30
        [], // 31
        [], // 32
        [], // 33
        [], // 34
        [], // 35
        [], // 36
        [], // 37
        [], // 38
        [], // 39
        [], // 40
        [], // 41
        [], // 42
        [], // 43
        [], // 44
        [], // 45
        [], // 46
        [], // 47
        [], // 48
        [], // 49
        [], // 50
        [], // 51
        [], // 52
        [], // 53
        [], // 54
        [], // 55
        [], // 56
        [], // 57
        [], // 58
        [], // 59
        [], // 60
        [], // 61
    ];

    /// <summary>Name of static entry <paramref name="index"/> (1..61).</summary>
    public static ReadOnlySpan<byte> GetName(int index) => _names[index];

    /// <summary>Value of static entry <paramref name="index"/> (1..61); empty for name-only entries.</summary>
    public static ReadOnlySpan<byte> GetValue(int index) => _values[index];

    /// <summary>The lowest static index whose name is <paramref name="name"/>, or 0 if none.</summary>
    public static int FindName(ReadOnlySpan<byte> name)
    {
        // Linear, but cheap: length and first byte reject almost every entry (no static name is empty).
        for (int i = 1; i <= Count; i++)
        {
            byte[] candidate = _names[i];
            if (candidate.Length == name.Length && candidate[0] == name[0] && name.SequenceEqual(candidate))
            {
                return i;
            }
        }

        return 0;
    }
}
