namespace Ztunnel.Hbone.Hpack;

/// <summary>Integer and string literal decoding (RFC 7541 §5).</summary>
internal sealed partial class HpackDecoder
{
    // 2^31-1 needs 31 bits; the prefix gives at least 1 and each continuation byte 7, so 5 continuation
    // bytes are always enough. More are only zero padding, which we refuse rather than loop over.
    private const int MaxContinuationBytes = 5;

    private const int MinScratchSize = 256;

    // Huffman-decoded strings and copied names; grows on demand up to the header list cap, then is reused.
    private byte[] _scratch = [];

    /// <summary>Reads an integer with an N-bit prefix (RFC 7541 §5.1) starting at the byte at <paramref name="pos"/>.</summary>
    internal static int ReadInteger(ReadOnlySpan<byte> block, ref int pos, int prefixBits)
    {
        int mask = (1 << prefixBits) - 1;
        int value = block[pos++] & mask;
        if (value < mask)
        {
            return value;
        }

        long result = value;
        for (int i = 0; i < MaxContinuationBytes; i++)
        {
            if (pos >= block.Length)
            {
                throw new HpackException($"Header block ends inside a multi-byte integer (at byte {pos})");
            }

            byte b = block[pos++];
            result += (long)(b & 0x7F) << (7 * i);
            if (result > int.MaxValue)
            {
                throw new HpackException($"Integer ending at byte {pos - 1} is larger than 2^31-1");
            }

            if ((b & 0x80) == 0)
            {
                return (int)result;
            }
        }

        throw new HpackException($"Integer at byte {pos - MaxContinuationBytes - 1} has more than {MaxContinuationBytes} continuation bytes");
    }

    /// <summary>
    /// Reads a string literal (RFC 7541 §5.2). Raw strings are returned as a slice of the block; Huffman
    /// strings are decoded into the scratch buffer after <paramref name="scratchUsed"/>.
    /// At most <paramref name="budget"/> decoded bytes are accepted (what is left of the header list cap).
    /// </summary>
    private ReadOnlySpan<byte> ReadString(ReadOnlySpan<byte> block, scoped ref int pos, int budget, scoped ref int scratchUsed, string what)
    {
        if (pos >= block.Length)
        {
            throw new HpackException($"Header block ends where the header {what} string should start (byte {pos})");
        }

        bool huffman = (block[pos] & 0x80) != 0;
        int length = ReadInteger(block, ref pos, 7);
        if (length > block.Length - pos)
        {
            throw new HpackException($"Header {what} string is truncated: length {length}, but only {block.Length - pos} bytes remain in the header block");
        }

        ReadOnlySpan<byte> raw = block.Slice(pos, length);
        pos += length;
        if (!huffman)
        {
            if (length > budget)
            {
                throw ListTooLarge((long)_maxHeaderListSize - budget + length);
            }

            return raw;
        }

        Span<byte> dst = Scratch(scratchUsed, Math.Min(Huffman.GetMaxDecodedLength(length), budget));
        int written = Huffman.TryDecode(raw, dst);
        if (written < 0)
        {
            throw ListTooLarge((long)_maxHeaderListSize - budget + dst.Length + 1);
        }

        scratchUsed += written;
        return dst[..written];
    }

    /// <summary>
    /// A scratch region of <paramref name="length"/> bytes after the first <paramref name="used"/> ones.
    /// Growing swaps in a bigger array without copying: spans already handed out keep the old one alive.
    /// </summary>
    private Span<byte> Scratch(int used, int length)
    {
        int needed = used + length;
        if (needed > _scratch.Length)
        {
            int size = Math.Max(needed, Math.Max(MinScratchSize, _scratch.Length * 2));
            _scratch = new byte[Math.Min(size, Math.Max(needed, _maxHeaderListSize))];
        }

        return _scratch.AsSpan(used, length);
    }
}
