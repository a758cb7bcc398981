using System.Text;

namespace Ztunnel.Tests.Hbone.Server;

/// <summary>
/// Just enough HPACK (RFC 7541) for a test client: encode literals without indexing, decode blocks that
/// use the static and dynamic tables with plain (non-Huffman) strings, which is what Kestrel sends.
/// </summary>
internal sealed class TestHpack
{
    private static readonly (string Name, string Value)[] Static =
    [
        (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
        (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
        (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
        ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
        ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""), ("cache-control", ""),
        ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
        ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""), ("date", ""),
        ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""), ("if-match", ""),
        ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""), ("if-unmodified-since", ""),
        ("last-modified", ""), ("link", ""), ("location", ""), ("max-forwards", ""), ("proxy-authenticate", ""),
        ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""), ("retry-after", ""),
        ("server", ""), ("set-cookie", ""), ("strict-transport-security", ""), ("transfer-encoding", ""),
        ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
    ];

    private readonly List<(string Name, string Value)> _dynamic = []; // newest first
    private int _dynamicSize;
    private int _maxSize = 4096;

    public static byte[] Encode(IEnumerable<(string Name, string Value)> fields)
    {
        var output = new List<byte>();
        foreach (var (name, value) in fields)
        {
            output.Add(0x00); // literal without indexing, new name
            WriteString(output, name);
            WriteString(output, value);
        }
        return [.. output];
    }

    public List<(string Name, string Value)> Decode(ReadOnlySpan<byte> block)
    {
        var fields = new List<(string, string)>();
        int i = 0;
        while (i < block.Length)
        {
            byte b = block[i];
            if ((b & 0x80) != 0)
            {
                fields.Add(Lookup(ReadInt(block, ref i, 7)));
            }
            else if ((b & 0xC0) == 0x40)
            {
                var field = ReadLiteral(block, ref i, 6);
                fields.Add(field);
                Insert(field);
            }
            else if ((b & 0xE0) == 0x20)
            {
                _maxSize = ReadInt(block, ref i, 5);
                Evict();
            }
            else
            {
                fields.Add(ReadLiteral(block, ref i, 4));
            }
        }
        return fields;
    }

    private (string, string) ReadLiteral(ReadOnlySpan<byte> block, ref int i, int prefix)
    {
        int index = ReadInt(block, ref i, prefix);
        string name = index == 0 ? ReadString(block, ref i) : Lookup(index).Name;
        return (name, ReadString(block, ref i));
    }

    private (string Name, string Value) Lookup(int index) =>
        index <= Static.Length ? Static[index - 1] : _dynamic[index - Static.Length - 1];

    private void Insert((string Name, string Value) field)
    {
        _dynamic.Insert(0, field);
        _dynamicSize += 32 + field.Name.Length + field.Value.Length;
        Evict();
    }

    private void Evict()
    {
        while (_dynamicSize > _maxSize && _dynamic.Count > 0)
        {
            var last = _dynamic[^1];
            _dynamic.RemoveAt(_dynamic.Count - 1);
            _dynamicSize -= 32 + last.Name.Length + last.Value.Length;
        }
    }

    private static int ReadInt(ReadOnlySpan<byte> block, ref int i, int prefix)
    {
        int mask = (1 << prefix) - 1;
        int value = block[i++] & mask;
        if (value < mask)
        {
            return value;
        }
        int shift = 0;
        byte b;
        do
        {
            b = block[i++];
            value += (b & 0x7F) << shift;
            shift += 7;
        }
        while ((b & 0x80) != 0);
        return value;
    }

    private static string ReadString(ReadOnlySpan<byte> block, ref int i)
    {
        bool huffman = (block[i] & 0x80) != 0;
        int length = ReadInt(block, ref i, 7);
        if (huffman)
        {
            throw new NotSupportedException("test HPACK decoder does not do Huffman");
        }
        string s = Encoding.ASCII.GetString(block.Slice(i, length));
        i += length;
        return s;
    }

    private static void WriteString(List<byte> output, string s)
    {
        WriteInt(output, 0x00, 7, s.Length);
        output.AddRange(Encoding.ASCII.GetBytes(s));
    }

    private static void WriteInt(List<byte> output, byte flags, int prefix, int value)
    {
        int mask = (1 << prefix) - 1;
        if (value < mask)
        {
            output.Add((byte)(flags | value));
            return;
        }
        output.Add((byte)(flags | mask));
        value -= mask;
        while (value >= 0x80)
        {
            output.Add((byte)((value & 0x7F) | 0x80));
            value >>= 7;
        }
        output.Add((byte)value);
    }
}
