using System.Buffers;

namespace Ztunnel.Hbone.Hpack;

/// <summary>
/// Writes HPACK header fields (RFC 7541) without a dynamic table: every field is either a fully indexed
/// static entry or a literal without indexing, with the name as a static index when the static table has
/// it. A CONNECT request has only a handful of short fields, so a dynamic table would save little and
/// would make the encoder stateful per connection; and the peer never needs a table size update from us.
/// Names must already be lowercase (RFC 9113 §8.2.1); that is the HTTP/2 layer's job.
/// </summary>
internal static class HpackEncoder
{
    /// <summary>Writes (<paramref name="name"/>, <paramref name="value"/>) as a literal without indexing, raw strings.</summary>
    public static void Encode(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, IBufferWriter<byte> output) =>
        Encode(name, value, output, huffman: false);

    /// <summary>
    /// Writes (<paramref name="name"/>, <paramref name="value"/>) as a literal without indexing (RFC 7541 §6.2.2).
    /// With <paramref name="huffman"/>, each string is Huffman-coded when that makes it shorter.
    /// </summary>
    public static void Encode(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, IBufferWriter<byte> output, bool huffman)
    {
        ArgumentNullException.ThrowIfNull(output);
        int nameIndex = StaticTable.FindName(name);
        int nameLength = nameIndex == 0 ? GetStringLength(name, huffman) : -1;
        int valueLength = GetStringLength(value, huffman);
        int size = GetIntegerLength(nameIndex, 4)
            + (nameIndex == 0 ? GetIntegerLength(nameLength, 7) + nameLength : 0)
            + GetIntegerLength(valueLength, 7) + valueLength;
        Span<byte> dst = output.GetSpan(size);
        int pos = WriteInteger(dst, nameIndex, 4, 0x00);
        if (nameIndex == 0)
        {
            pos += WriteString(dst[pos..], name, nameLength);
        }

        pos += WriteString(dst[pos..], value, valueLength);
        output.Advance(pos);
    }

    /// <summary>Writes an indexed header field (RFC 7541 §6.1) for static table entry <paramref name="index"/>.</summary>
    public static void EncodeIndexed(int index, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(index, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, StaticTable.Count);
        Span<byte> dst = output.GetSpan(GetIntegerLength(index, 7));
        output.Advance(WriteInteger(dst, index, 7, 0x80));
    }

    /// <summary>
    /// Writes <c>:status</c>: one byte for the seven statuses in the static table (200, 204, 206, 304, 400,
    /// 404, 500), else a literal with the static name index.
    /// </summary>
    public static void EncodeStatus(int status, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(status, 100);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(status, 999);
        int index = status switch
        {
            200 => 8,
            204 => 9,
            206 => 10,
            304 => 11,
            400 => 12,
            404 => 13,
            500 => 14,
            _ => 0,
        };
        if (index != 0)
        {
            EncodeIndexed(index, output);
            return;
        }

        // Literal without indexing, name index 8 (:status), 3-digit raw value.
        Span<byte> dst = output.GetSpan(5);
        dst[0] = 0x08;
        dst[1] = 3;
        dst[2] = (byte)('0' + (status / 100));
        dst[3] = (byte)('0' + (status / 10 % 10));
        dst[4] = (byte)('0' + (status % 10));
        output.Advance(5);
    }

    /// <summary>Bytes <see cref="WriteInteger"/> needs for <paramref name="value"/> with an N-bit prefix.</summary>
    public static int GetIntegerLength(int value, int prefixBits)
    {
        int mask = (1 << prefixBits) - 1;
        if (value < mask)
        {
            return 1;
        }

        int length = 2;
        for (uint rest = (uint)(value - mask); rest >= 0x80; rest >>= 7)
        {
            length++;
        }

        return length;
    }

    /// <summary>
    /// Writes <paramref name="value"/> with an N-bit prefix (RFC 7541 §5.1); <paramref name="flags"/> are the
    /// representation bits above the prefix in the first byte. Returns the bytes written.
    /// </summary>
    public static int WriteInteger(Span<byte> dst, int value, int prefixBits, byte flags)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        int mask = (1 << prefixBits) - 1;
        if (value < mask)
        {
            dst[0] = (byte)(flags | value);
            return 1;
        }

        dst[0] = (byte)(flags | mask);
        int pos = 1;
        uint rest = (uint)(value - mask);
        while (rest >= 0x80)
        {
            dst[pos++] = (byte)(rest | 0x80);
            rest >>= 7;
        }

        dst[pos++] = (byte)rest;
        return pos;
    }

    /// <summary>Length of the string's octets on the wire: its Huffman coding when that is shorter and allowed.</summary>
    private static int GetStringLength(ReadOnlySpan<byte> s, bool huffman) =>
        huffman ? Math.Min(Huffman.GetEncodedLength(s), s.Length) : s.Length;

    /// <summary>Writes a string literal (RFC 7541 §5.2); Huffman-coded iff <paramref name="wireLength"/> is shorter than the raw string.</summary>
    private static int WriteString(Span<byte> dst, ReadOnlySpan<byte> s, int wireLength)
    {
        if (wireLength < s.Length)
        {
            int pos = WriteInteger(dst, wireLength, 7, 0x80);
            return pos + Huffman.Encode(s, dst[pos..]);
        }

        int header = WriteInteger(dst, s.Length, 7, 0x00);
        s.CopyTo(dst[header..]);
        return header + s.Length;
    }
}
