using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Ztunnel.Hbone.Hpack;

/// <summary>
/// The HPACK Huffman string coding (RFC 7541 §5.2, code table in Appendix B).
/// Decoding runs a 4-bit-at-a-time state machine over the code tree (the nghttp2 approach): the tree's
/// 256 internal nodes are the states, and each (state, nibble) pair says where we go and which symbol,
/// if any, completes on the way. A nibble can complete at most one symbol since the shortest code is
/// 5 bits long. The machine is built once at startup from <see cref="HuffmanTable"/>.
/// </summary>
internal static partial class Huffman
{
    /// <summary>Longest decoded output a Huffman string of <paramref name="encodedLength"/> bytes can have (5-bit shortest code).</summary>
    public static int GetMaxDecodedLength(int encodedLength) => (int)(((long)encodedLength * 8) / 5);

    /// <summary>
    /// Decodes <paramref name="src"/> into <paramref name="dst"/> and returns the number of bytes written.
    /// Throws <see cref="HpackException"/> on an encoded EOS, bad padding, or when <paramref name="dst"/>
    /// is too small (size it with <see cref="GetMaxDecodedLength"/>).
    /// </summary>
    public static int Decode(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        int written = TryDecode(src, dst);
        if (written < 0)
        {
            throw new HpackException($"Huffman-decoded string does not fit in {dst.Length} bytes");
        }

        return written;
    }

    /// <summary>
    /// Like <see cref="Decode"/>, but returns -1 instead of throwing when the output does not fit in
    /// <paramref name="dst"/>, so a caller with a size budget can report its own limit.
    /// Still throws <see cref="HpackException"/> on malformed input.
    /// </summary>
    public static int TryDecode(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        // (state << 4) | nibble is always below 256 * 16, the table's length, so skip the bounds checks.
        ref uint transitions = ref MemoryMarshal.GetArrayDataReference(_transitions);
        int state = 0;
        int written = 0;
        for (int i = 0; i < src.Length; i++)
        {
            int b = src[i];
            uint t = Unsafe.Add(ref transitions, (state << 4) | (b >> 4));
            if ((t & (Emit | Fail)) != 0)
            {
                if ((t & Fail) != 0)
                {
                    throw EosException(i);
                }

                if ((uint)written >= (uint)dst.Length)
                {
                    return -1;
                }

                dst[written++] = (byte)(t >> 8);
            }

            state = (byte)t;
            t = Unsafe.Add(ref transitions, (state << 4) | (b & 0xF));
            if ((t & (Emit | Fail)) != 0)
            {
                if ((t & Fail) != 0)
                {
                    throw EosException(i);
                }

                if ((uint)written >= (uint)dst.Length)
                {
                    return -1;
                }

                dst[written++] = (byte)(t >> 8);
            }

            state = (byte)t;
        }

        // RFC 7541 §5.2: the string may end mid-byte only on a prefix of EOS (all ones) of at most 7 bits.
        byte depth = _paddingDepth[state];
        if (depth != 0)
        {
            throw depth == NotAllOnes
                ? new HpackException("Huffman string ends with padding that is not all ones (a truncated symbol)")
                : new HpackException($"Huffman string ends with {depth} bits of padding; at most 7 are allowed");
        }

        return written;
    }

    /// <summary>Number of bytes <see cref="Encode"/> writes for <paramref name="src"/>.</summary>
    public static int GetEncodedLength(ReadOnlySpan<byte> src)
    {
        ReadOnlySpan<byte> lengths = HuffmanTable.Lengths;
        long bits = 0;
        foreach (byte b in src)
        {
            bits += lengths[b];
        }

        return checked((int)((bits + 7) >> 3));
    }

    /// <summary>
    /// Huffman-encodes <paramref name="src"/> into <paramref name="dst"/>, padding the last byte with the
    /// most significant bits of EOS (ones), and returns the number of bytes written.
    /// </summary>
    public static int Encode(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        ReadOnlySpan<uint> codes = HuffmanTable.Codes;
        ReadOnlySpan<byte> lengths = HuffmanTable.Lengths;
        ulong acc = 0;
        int bits = 0;
        int written = 0;
        foreach (byte b in src)
        {
            // bits < 8 before and codes are at most 30 bits, so acc never needs more than 37 bits.
            acc = (acc << lengths[b]) | codes[b];
            bits += lengths[b];
            while (bits >= 8)
            {
                bits -= 8;
                if ((uint)written >= (uint)dst.Length)
                {
                    throw new ArgumentException($"Destination of {dst.Length} bytes is too small for the Huffman encoding", nameof(dst));
                }

                dst[written++] = (byte)(acc >> bits);
            }
        }

        if (bits > 0)
        {
            if ((uint)written >= (uint)dst.Length)
            {
                throw new ArgumentException($"Destination of {dst.Length} bytes is too small for the Huffman encoding", nameof(dst));
            }

            dst[written++] = (byte)((acc << (8 - bits)) | (0xFFu >> bits));
        }

        return written;
    }

    private static HpackException EosException(int offset) =>
        new($"Huffman string contains the EOS symbol (in byte {offset}); RFC 7541 §5.2 forbids it");
}
