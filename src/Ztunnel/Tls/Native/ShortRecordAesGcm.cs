using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;
using Aes = System.Runtime.Intrinsics.X86.Aes;

namespace Ztunnel.Tls.Native;

/// <summary>
/// AES-GCM (NIST SP 800-38D) on the CPU's AES and carry-less multiply instructions, for the short records of
/// request/response traffic and HTTP/2 control frames. Through OpenSSL 3's EVP interface, sealing a 95-byte record
/// took six calls, each one a dispatch through the provider and its parameter lookups: about 2.5 us per record on
/// this project's bench machine, for perhaps 0.1 us of cipher work, and its code pushed the kernel's network path
/// out of the CPU's caches. Long records stay with OpenSSL, whose stitched AES-GCM is faster per byte than this
/// one-block-at-a-time GHASH.
/// </summary>
/// <remarks>
/// <para>
/// Constant-time: AES-NI and PCLMULQDQ do not branch or index memory on key or data; the tag comparison is
/// <see cref="CryptographicOperations.FixedTimeEquals"/>. Opening checks the tag before it writes any plaintext.
/// </para>
/// <para>
/// GHASH works on byte-reversed blocks, the layout of Gueron and Kounavis's white paper ("Intel Carry-Less
/// Multiplication Instruction and its Usage for Computing the GCM Mode", algorithm with the shift by one and the
/// two-phase reduction), so the field's reflected bit order lines up with the instruction's.
/// </para>
/// <para>Not thread-safe (one record at a time, as <see cref="TlsRecordProtection"/> uses it).</para>
/// </remarks>
internal sealed class ShortRecordAesGcm : IDisposable
{
    public const int NonceSize = 12;
    public const int TagSize = 16;

    // AES-256 has 15 round keys, AES-128 11.
    private readonly Vector128<byte>[] _roundKeys = new Vector128<byte>[15];
    private readonly int _rounds;
    private Vector128<byte> _hashKey; // H = AES(K, 0^128), byte-reversed
    private Vector128<byte> _hashKey2; // H^2, H^3, H^4: four blocks hashed with one reduction
    private Vector128<byte> _hashKey3;
    private Vector128<byte> _hashKey4;

    /// <summary>Whether this CPU has the instructions (every x86-64 server since 2010 does; elsewhere, OpenSSL does it all).</summary>
    public static bool IsSupported => Aes.IsSupported && Pclmulqdq.IsSupported && Ssse3.IsSupported;

    /// <param name="key">16 bytes (AES-128) or 32 (AES-256).</param>
    public ShortRecordAesGcm(ReadOnlySpan<byte> key)
    {
        if (!IsSupported)
        {
            throw new PlatformNotSupportedException("AES-NI and PCLMULQDQ are not available");
        }
        _rounds = key.Length switch
        {
            16 => 10,
            32 => 14,
            _ => throw new ArgumentException("an AES-GCM key is 16 or 32 bytes", nameof(key)),
        };
        if (_rounds == 10)
        {
            ExpandKey128(key, _roundKeys);
        }
        else
        {
            ExpandKey256(key, _roundKeys);
        }
        _hashKey = ByteReverse(EncryptBlock(Vector128<byte>.Zero));
        _hashKey2 = Multiply(_hashKey, _hashKey);
        _hashKey3 = Multiply(_hashKey2, _hashKey);
        _hashKey4 = Multiply(_hashKey3, _hashKey);
    }

    /// <summary>
    /// Encrypts <paramref name="data"/> in place and writes its tag, over <paramref name="aad"/> (at most 16 bytes:
    /// a record header is 5).
    /// </summary>
    public void Seal(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, Span<byte> data, Span<byte> tag)
    {
        Vector128<byte> counter0 = CounterBlock(nonce);
        Crypt(counter0, data, data);
        ComputeTag(counter0, aad, data, tag);
    }

    /// <summary>
    /// Checks <paramref name="tag"/> over <paramref name="aad"/> and <paramref name="ciphertext"/>; when it verifies,
    /// decrypts into <paramref name="plaintext"/> (the same length; it may be the ciphertext itself) and returns true.
    /// When it does not, writes nothing and returns false.
    /// </summary>
    public bool Open(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext)
    {
        Vector128<byte> counter0 = CounterBlock(nonce);
        Span<byte> expected = stackalloc byte[TagSize];
        ComputeTag(counter0, aad, ciphertext, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, tag))
        {
            return false;
        }
        Crypt(counter0, ciphertext, plaintext);
        return true;
    }

    public void Dispose()
    {
        Array.Clear(_roundKeys);
        _hashKey = _hashKey2 = _hashKey3 = _hashKey4 = default;
    }

    /// <summary>J0 for a 96-bit nonce: the nonce, then the 32-bit big-endian counter 1.</summary>
    private static Vector128<byte> CounterBlock(ReadOnlySpan<byte> nonce)
    {
        if (nonce.Length != NonceSize)
        {
            throw new ArgumentException("the nonce is 12 bytes", nameof(nonce));
        }
        Span<byte> block = stackalloc byte[16];
        nonce.CopyTo(block);
        BinaryPrimitives.WriteUInt32BigEndian(block[NonceSize..], 1);
        return Vector128.Create<byte>(block);
    }

    private static Vector128<byte> WithCounter(Vector128<byte> counter0, uint counter) =>
        counter0.AsUInt32().WithElement(3, BinaryPrimitives.ReverseEndianness(counter)).AsByte();

    /// <summary>CTR mode from counter 2 (GCM's first data block), four blocks at a time so the AES units overlap.</summary>
    private void Crypt(Vector128<byte> counter0, ReadOnlySpan<byte> input, Span<byte> output)
    {
        uint counter = 2;
        int offset = 0;
        while (input.Length - offset >= 64)
        {
            Vector128<byte> k0 = _roundKeys[0];
            Vector128<byte> b0 = WithCounter(counter0, counter) ^ k0;
            Vector128<byte> b1 = WithCounter(counter0, counter + 1) ^ k0;
            Vector128<byte> b2 = WithCounter(counter0, counter + 2) ^ k0;
            Vector128<byte> b3 = WithCounter(counter0, counter + 3) ^ k0;
            for (int round = 1; round < _rounds; round++)
            {
                Vector128<byte> k = _roundKeys[round];
                b0 = Aes.Encrypt(b0, k);
                b1 = Aes.Encrypt(b1, k);
                b2 = Aes.Encrypt(b2, k);
                b3 = Aes.Encrypt(b3, k);
            }
            Vector128<byte> last = _roundKeys[_rounds];
            (Aes.EncryptLast(b0, last) ^ Vector128.Create(input.Slice(offset, 16))).CopyTo(output[offset..]);
            (Aes.EncryptLast(b1, last) ^ Vector128.Create(input.Slice(offset + 16, 16))).CopyTo(output[(offset + 16)..]);
            (Aes.EncryptLast(b2, last) ^ Vector128.Create(input.Slice(offset + 32, 16))).CopyTo(output[(offset + 32)..]);
            (Aes.EncryptLast(b3, last) ^ Vector128.Create(input.Slice(offset + 48, 16))).CopyTo(output[(offset + 48)..]);
            counter += 4;
            offset += 64;
        }
        for (; input.Length - offset >= 16; offset += 16)
        {
            (EncryptBlock(WithCounter(counter0, counter++)) ^ Vector128.Create(input.Slice(offset, 16))).CopyTo(output[offset..]);
        }
        if (offset < input.Length)
        {
            int n = input.Length - offset;
            Span<byte> partial = stackalloc byte[16];
            partial.Clear();
            input[offset..].CopyTo(partial);
            (EncryptBlock(WithCounter(counter0, counter)) ^ Vector128.Create<byte>(partial)).CopyTo(partial);
            partial[..n].CopyTo(output[offset..]);
        }
    }

    /// <summary>The tag: GHASH over the AAD, the ciphertext and their lengths, XOR AES(K, J0).</summary>
    private void ComputeTag(Vector128<byte> counter0, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext, Span<byte> tag)
    {
        Vector128<byte> hash = Vector128<byte>.Zero;
        hash = Absorb(hash, aad);
        hash = Absorb(hash, ciphertext);
        // The lengths block, [len(A) in bits][len(C) in bits] big-endian, already byte-reversed: len(C) is the low half.
        Vector128<byte> lengths = Vector128.Create((ulong)ciphertext.Length * 8, (ulong)aad.Length * 8).AsByte();
        hash = Multiply(hash ^ lengths, _hashKey);
        (ByteReverse(hash) ^ EncryptBlock(counter0)).CopyTo(tag);
    }

    /// <summary>GHASH of <paramref name="data"/>, zero-padded to whole blocks, into <paramref name="hash"/>.</summary>
    private Vector128<byte> Absorb(Vector128<byte> hash, ReadOnlySpan<byte> data)
    {
        int offset = 0;
        for (; data.Length - offset >= 64; offset += 64)
        {
            // ((((X ^ B0) H ^ B1) H ^ B2) H ^ B3) H = (X ^ B0) H^4 ^ B1 H^3 ^ B2 H^2 ^ B3 H: the reduction is linear, so
            // the four products are summed unreduced and reduced once.
            (Vector128<uint> low, Vector128<uint> high) = MultiplyUnreduced(hash ^ ByteReverse(Vector128.Create(data.Slice(offset, 16))), _hashKey4);
            (Vector128<uint> low1, Vector128<uint> high1) = MultiplyUnreduced(ByteReverse(Vector128.Create(data.Slice(offset + 16, 16))), _hashKey3);
            (Vector128<uint> low2, Vector128<uint> high2) = MultiplyUnreduced(ByteReverse(Vector128.Create(data.Slice(offset + 32, 16))), _hashKey2);
            (Vector128<uint> low3, Vector128<uint> high3) = MultiplyUnreduced(ByteReverse(Vector128.Create(data.Slice(offset + 48, 16))), _hashKey);
            hash = Reduce(low ^ low1 ^ low2 ^ low3, high ^ high1 ^ high2 ^ high3);
        }
        for (; data.Length - offset >= 16; offset += 16)
        {
            hash = Multiply(hash ^ ByteReverse(Vector128.Create(data.Slice(offset, 16))), _hashKey);
        }
        if (offset < data.Length)
        {
            Span<byte> partial = stackalloc byte[16];
            partial.Clear();
            data[offset..].CopyTo(partial);
            hash = Multiply(hash ^ ByteReverse(Vector128.Create<byte>(partial)), _hashKey);
        }
        return hash;
    }

    private Vector128<byte> EncryptBlock(Vector128<byte> block)
    {
        block ^= _roundKeys[0];
        for (int round = 1; round < _rounds; round++)
        {
            block = Aes.Encrypt(block, _roundKeys[round]);
        }
        return Aes.EncryptLast(block, _roundKeys[_rounds]);
    }

    private static Vector128<byte> ByteReverse(Vector128<byte> block) =>
        Ssse3.Shuffle(block, Vector128.Create((byte)15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));

    /// <summary>
    /// a * b in GF(2^128) with GCM's polynomial, both byte-reversed: the 256-bit carry-less product, then reduced.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Multiply(Vector128<byte> a, Vector128<byte> b)
    {
        (Vector128<uint> low, Vector128<uint> high) = MultiplyUnreduced(a, b);
        return Reduce(low, high);
    }

    /// <summary>The 256-bit carry-less product [high:low] of a and b (schoolbook: four multiplies).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<uint> Low, Vector128<uint> High) MultiplyUnreduced(Vector128<byte> a, Vector128<byte> b)
    {
        Vector128<ulong> x = a.AsUInt64();
        Vector128<ulong> y = b.AsUInt64();
        Vector128<uint> low = Pclmulqdq.CarrylessMultiply(x, y, 0x00).AsUInt32();
        Vector128<uint> middle = (Pclmulqdq.CarrylessMultiply(x, y, 0x10) ^ Pclmulqdq.CarrylessMultiply(x, y, 0x01)).AsUInt32();
        Vector128<uint> high = Pclmulqdq.CarrylessMultiply(x, y, 0x11).AsUInt32();
        return (low ^ Sse2.ShiftLeftLogical128BitLane(middle, 8), high ^ Sse2.ShiftRightLogical128BitLane(middle, 8));
    }

    /// <summary>
    /// [high:low] shifted left by one bit (the reflected bit order), then reduced modulo x^128 + x^7 + x^2 + x + 1 in
    /// two phases.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Reduce(Vector128<uint> low, Vector128<uint> high)
    {
        Vector128<uint> lowCarry = Sse2.ShiftRightLogical(low, 31);
        Vector128<uint> highCarry = Sse2.ShiftRightLogical(high, 31);
        low = Sse2.ShiftLeftLogical(low, 1);
        high = Sse2.ShiftLeftLogical(high, 1);
        Vector128<uint> crossing = Sse2.ShiftRightLogical128BitLane(lowCarry, 12);
        highCarry = Sse2.ShiftLeftLogical128BitLane(highCarry, 4);
        lowCarry = Sse2.ShiftLeftLogical128BitLane(lowCarry, 4);
        low |= lowCarry;
        high |= highCarry | crossing;

        Vector128<uint> t = Sse2.ShiftLeftLogical(low, 31) ^ Sse2.ShiftLeftLogical(low, 30) ^ Sse2.ShiftLeftLogical(low, 25);
        Vector128<uint> carried = Sse2.ShiftRightLogical128BitLane(t, 4);
        low ^= Sse2.ShiftLeftLogical128BitLane(t, 12);

        Vector128<uint> u = Sse2.ShiftRightLogical(low, 1) ^ Sse2.ShiftRightLogical(low, 2) ^ Sse2.ShiftRightLogical(low, 7) ^ carried;
        return (high ^ low ^ u).AsByte();
    }

    private static void ExpandKey128(ReadOnlySpan<byte> key, Vector128<byte>[] keys)
    {
        Vector128<byte> k = Vector128.Create(key);
        keys[0] = k;
        keys[1] = k = StepRotated(k, Aes.KeygenAssist(k, 0x01));
        keys[2] = k = StepRotated(k, Aes.KeygenAssist(k, 0x02));
        keys[3] = k = StepRotated(k, Aes.KeygenAssist(k, 0x04));
        keys[4] = k = StepRotated(k, Aes.KeygenAssist(k, 0x08));
        keys[5] = k = StepRotated(k, Aes.KeygenAssist(k, 0x10));
        keys[6] = k = StepRotated(k, Aes.KeygenAssist(k, 0x20));
        keys[7] = k = StepRotated(k, Aes.KeygenAssist(k, 0x40));
        keys[8] = k = StepRotated(k, Aes.KeygenAssist(k, 0x80));
        keys[9] = k = StepRotated(k, Aes.KeygenAssist(k, 0x1b));
        keys[10] = StepRotated(k, Aes.KeygenAssist(k, 0x36));
    }

    private static void ExpandKey256(ReadOnlySpan<byte> key, Vector128<byte>[] keys)
    {
        Vector128<byte> a = Vector128.Create(key[..16]);
        Vector128<byte> b = Vector128.Create(key[16..]);
        keys[0] = a;
        keys[1] = b;
        // Even keys from the previous even one and RotWord(SubWord) of the last odd one (with the round constant); odd
        // keys from the previous odd one and SubWord of the last even one. KeygenAssist takes its constant as an immediate.
        keys[2] = a = StepRotated(a, Aes.KeygenAssist(b, 0x01));
        keys[3] = b = StepUnrotated(b, a);
        keys[4] = a = StepRotated(a, Aes.KeygenAssist(b, 0x02));
        keys[5] = b = StepUnrotated(b, a);
        keys[6] = a = StepRotated(a, Aes.KeygenAssist(b, 0x04));
        keys[7] = b = StepUnrotated(b, a);
        keys[8] = a = StepRotated(a, Aes.KeygenAssist(b, 0x08));
        keys[9] = b = StepUnrotated(b, a);
        keys[10] = a = StepRotated(a, Aes.KeygenAssist(b, 0x10));
        keys[11] = b = StepUnrotated(b, a);
        keys[12] = a = StepRotated(a, Aes.KeygenAssist(b, 0x20));
        keys[13] = b = StepUnrotated(b, a);
        keys[14] = StepRotated(a, Aes.KeygenAssist(b, 0x40));
    }

    /// <summary>AES-256's odd keys: <paramref name="key"/> chained with SubWord of the last word of <paramref name="lastEven"/>.</summary>
    private static Vector128<byte> StepUnrotated(Vector128<byte> key, Vector128<byte> lastEven) =>
        XorPrefixes(key) ^ Sse2.Shuffle(Aes.KeygenAssist(lastEven, 0x00).AsUInt32(), 0xaa).AsByte();

    /// <summary>The next key from <paramref name="key"/> and KeygenAssist's RotWord(SubWord(last word)) ^ rcon, in its top word.</summary>
    private static Vector128<byte> StepRotated(Vector128<byte> key, Vector128<byte> assist) =>
        XorPrefixes(key) ^ Sse2.Shuffle(assist.AsUInt32(), 0xff).AsByte();

    /// <summary>Each 32-bit word XOR all the words before it (w0, w0^w1, w0^w1^w2, ...): the key schedule's chaining.</summary>
    private static Vector128<byte> XorPrefixes(Vector128<byte> key)
    {
        Vector128<byte> shifted = Sse2.ShiftLeftLogical128BitLane(key, 4);
        key ^= shifted;
        shifted = Sse2.ShiftLeftLogical128BitLane(shifted, 4);
        key ^= shifted;
        return key ^ Sse2.ShiftLeftLogical128BitLane(shifted, 4);
    }
}
