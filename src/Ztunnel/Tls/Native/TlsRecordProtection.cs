using System.Buffers.Binary;
using System.Net.Security;
using System.Security.Cryptography;

namespace Ztunnel.Tls.Native;

/// <summary>
/// One direction of a TLS 1.3 connection's record protection (RFC 8446 §5.2-5.3, §7.1-7.3): the AES-GCM key and IV
/// derived from that direction's application traffic secret, and the record sequence number. Seals or opens one
/// record at a time, out of place, so plaintext goes from the caller's buffer straight into the send buffer and from
/// the receive buffer straight into the caller's: the copies OpenSSL's record layer made in between are gone.
/// </summary>
/// <remarks>
/// Not thread-safe: the stream calls it under its lock. Records of up to <see cref="ShortRecordLimit"/> bytes are
/// sealed and opened by <see cref="ShortRecordAesGcm"/> on the CPU's AES instructions, longer ones by OpenSSL (its
/// per-call overhead is most of a short record's cost, its per-byte cost is lower). The key lives only in the EVP
/// context and the short-record key schedule; the traffic secret is kept for <see cref="Update"/> (KeyUpdate) and
/// wiped on every change and on dispose.
/// </remarks>
internal sealed unsafe class TlsRecordProtection : IDisposable
{
    public const int HeaderSize = 5;
    public const int TagSize = 16;

    /// <summary>The largest plaintext of one record (2^14).</summary>
    public const int MaxPlaintext = 16 * 1024;

    /// <summary>The largest protected record body a peer may send (RFC 8446 §5.2: 2^14 + 256).</summary>
    public const int MaxCiphertext = MaxPlaintext + 256;

    /// <summary>What sealing adds to a record's plaintext: header, inner content type (we never pad), tag.</summary>
    public const int Overhead = HeaderSize + 1 + TagSize;

    /// <summary>A full record as TLS 1.3 AES-GCM peers send them in bulk: 2^14 bytes of data, unpadded.</summary>
    public const int FullRecord = MaxPlaintext + Overhead;

    public const byte ContentAlert = 21;
    public const byte ContentHandshake = 22;
    public const byte ContentApplicationData = 23;

    /// <summary>
    /// The longest inner plaintext (content and type byte) that <see cref="ShortRecordAesGcm"/> handles; above it
    /// OpenSSL's stitched AES-GCM is cheaper (bench/Ztunnel.Bench RecordSealBenchmarks).
    /// </summary>
    internal const int ShortRecordLimit = 1024;

    private const int IvSize = 12;

    private readonly HashAlgorithmName _hash;
    private readonly nint _cipher;
    private readonly int _keySize;
    private readonly int _encrypt;
    private readonly byte[] _secret;
    private readonly byte[] _iv = new byte[IvSize];
    private nint _context;
    private readonly bool _shortRecords;
    private ShortRecordAesGcm? _short;
    private ulong _sequence;

    private TlsRecordProtection(HashAlgorithmName hash, nint cipher, int keySize, ReadOnlySpan<byte> secret, bool encrypt, bool shortRecords)
    {
        _shortRecords = shortRecords && ShortRecordAesGcm.IsSupported;
        _hash = hash;
        _cipher = cipher;
        _keySize = keySize;
        _encrypt = encrypt ? 1 : 0;
        _secret = secret.ToArray();
        _context = OpenSsl.EVP_CIPHER_CTX_new();
        OpenSslError.Check(_context != 0, "EVP_CIPHER_CTX_new");
        try
        {
            Rekey();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Records protected with the current key (tests; the sealing side updates its key long before a limit).</summary>
    internal ulong Sequence => _sequence;

    /// <summary>
    /// Protection for <paramref name="suite"/> keyed from <paramref name="secret"/> (an application traffic secret, as
    /// long as the suite's hash); null for a suite this layer does not implement (HBONE negotiates AES-GCM only).
    /// </summary>
    /// <param name="shortRecords">false: OpenSSL protects every record (tests compare the two implementations).</param>
    public static TlsRecordProtection? For(TlsCipherSuite suite, ReadOnlySpan<byte> secret, bool encrypt, bool shortRecords = true) => suite switch
    {
        TlsCipherSuite.TLS_AES_128_GCM_SHA256 when secret.Length == 32 =>
            new TlsRecordProtection(HashAlgorithmName.SHA256, OpenSsl.EVP_aes_128_gcm(), 16, secret, encrypt, shortRecords),
        TlsCipherSuite.TLS_AES_256_GCM_SHA384 when secret.Length == 48 =>
            new TlsRecordProtection(HashAlgorithmName.SHA384, OpenSsl.EVP_aes_256_gcm(), 32, secret, encrypt, shortRecords),
        _ => null,
    };

    /// <summary>
    /// KeyUpdate (RFC 8446 §7.2): the next traffic secret from this one, new key and IV, sequence back to 0. The
    /// sender calls it right after sealing its KeyUpdate, the receiver right after opening the peer's.
    /// </summary>
    public void Update()
    {
        Span<byte> next = stackalloc byte[_secret.Length];
        ExpandLabel(_hash, _secret, "traffic upd", next);
        next.CopyTo(_secret);
        CryptographicOperations.ZeroMemory(next);
        Rekey();
    }

    /// <summary>
    /// Seals <paramref name="plaintext"/> (at most <see cref="MaxPlaintext"/> bytes) as one record of
    /// <paramref name="contentType"/> at <paramref name="record"/>, which has room for its length plus
    /// <see cref="Overhead"/>; returns the record's length.
    /// </summary>
    public int Seal(ReadOnlySpan<byte> plaintext, byte contentType, byte* record)
    {
        int bodyLength = plaintext.Length + 1 + TagSize;
        record[0] = ContentApplicationData; // TLS 1.3 hides the real type inside (TLSInnerPlaintext)
        record[1] = 0x03;
        record[2] = 0x03;
        record[3] = (byte)(bodyLength >> 8);
        record[4] = (byte)bodyLength;
        byte* body = record + HeaderSize;
        Span<byte> nonce = stackalloc byte[IvSize];
        NextNonce(nonce);
        if (_short is not null && plaintext.Length < ShortRecordLimit)
        {
            var inner = new Span<byte>(body, plaintext.Length + 1);
            plaintext.CopyTo(inner);
            inner[^1] = contentType;
            _short.Seal(nonce, new ReadOnlySpan<byte>(record, HeaderSize), inner, new Span<byte>(body + inner.Length, TagSize));
            return HeaderSize + bodyLength;
        }
        StartEvpRecord(nonce, record);
        int written;
        fixed (byte* data = plaintext)
        {
            Check(OpenSsl.EVP_CipherUpdate(_context, body, &written, data, plaintext.Length), "EVP_CipherUpdate (seal)");
        }
        Check(OpenSsl.EVP_CipherUpdate(_context, body + plaintext.Length, &written, &contentType, 1), "EVP_CipherUpdate (seal, content type)");
        Check(OpenSsl.EVP_CipherFinal_ex(_context, body + plaintext.Length + 1, &written), "EVP_CipherFinal_ex (seal)");
        Check(OpenSsl.EVP_CIPHER_CTX_ctrl(_context, OpenSsl.EVP_CTRL_GCM_GET_TAG, TagSize, body + plaintext.Length + 1), "EVP_CTRL_GCM_GET_TAG");
        return HeaderSize + bodyLength;
    }

    /// <summary>
    /// Opens the record at <paramref name="record"/> (header and a body of <paramref name="bodyLength"/> bytes, at
    /// least <see cref="TagSize"/> + 1, checked by the caller). The inner plaintext (content, type, padding:
    /// <paramref name="bodyLength"/> - <see cref="TagSize"/> bytes) is written to <paramref name="first"/> up to its
    /// length and the rest in place, over the record's own ciphertext, where <see cref="InPlaceStart"/> says. Returns the
    /// inner plaintext's length; throws <see cref="TlsRecordRefusedException"/> if the record was not sealed by the peer's key (its tag
    /// does not verify). The bytes written before that check are not to be used.
    /// </summary>
    public int Open(byte* record, int bodyLength, Span<byte> first)
    {
        int innerLength = bodyLength - TagSize;
        byte* body = record + HeaderSize;
        int direct = Math.Min(first.Length, innerLength);
        Span<byte> nonce = stackalloc byte[IvSize];
        NextNonce(nonce);
        if (_short is not null && innerLength <= ShortRecordLimit)
        {
            // In place, then the head to the caller's buffer: a short record's extra copy costs less than a split.
            var inner = new Span<byte>(body, innerLength);
            if (!_short.Open(nonce, new ReadOnlySpan<byte>(record, HeaderSize), inner, new ReadOnlySpan<byte>(body + innerLength, TagSize), inner))
            {
                throw BadRecordMac();
            }
            inner[..direct].CopyTo(first);
            return innerLength;
        }
        StartEvpRecord(nonce, record);
        int written;
        fixed (byte* target = first)
        {
            if (direct > 0)
            {
                Check(OpenSsl.EVP_CipherUpdate(_context, target, &written, body, direct), "EVP_CipherUpdate (open)");
            }
        }
        if (innerLength > direct)
        {
            Check(OpenSsl.EVP_CipherUpdate(_context, body + direct, &written, body + direct, innerLength - direct), "EVP_CipherUpdate (open, in place)");
        }
        Check(OpenSsl.EVP_CIPHER_CTX_ctrl(_context, OpenSsl.EVP_CTRL_GCM_SET_TAG, TagSize, body + innerLength), "EVP_CTRL_GCM_SET_TAG");
        if (OpenSsl.EVP_CipherFinal_ex(_context, null, &written) != 1)
        {
            OpenSsl.ERR_clear_error();
            throw BadRecordMac();
        }
        return innerLength;
    }

    private static TlsRecordRefusedException BadRecordMac() =>
        new(TlsAlert.BadRecordMac, "a record that did not authenticate: corrupted, or not sealed with its key");

    /// <summary>Where <see cref="Open"/> put the part of the plaintext that did not fit its first buffer: the record's body, from the same offset.</summary>
    public static byte* InPlaceStart(byte* record, int offset) => record + HeaderSize + offset;

    public void Dispose()
    {
        if (_context != 0)
        {
            OpenSsl.EVP_CIPHER_CTX_free(_context); // clears the key schedule
            _context = 0;
        }
        _short?.Dispose();
        _short = null;
        CryptographicOperations.ZeroMemory(_secret);
    }

    /// <summary>The next record's nonce (RFC 8446 §5.3: the IV XOR the sequence number).</summary>
    private void NextNonce(Span<byte> nonce)
    {
        if (_sequence == ulong.MaxValue)
        {
            // §5.3: the sequence number must not wrap. Unreachable with the sender's KeyUpdates; a guard for the reader.
            throw new IOException("HBONE TLS: the record sequence number is exhausted; the connection must end");
        }
        _iv.CopyTo(nonce);
        ulong sequence = _sequence++;
        for (int i = 0; i < 8; i++)
        {
            nonce[IvSize - 1 - i] ^= (byte)(sequence >> (8 * i));
        }
    }

    /// <summary>An OpenSSL record: the nonce, and the header as AAD.</summary>
    private void StartEvpRecord(ReadOnlySpan<byte> nonce, byte* header)
    {
        int ignored;
        fixed (byte* iv = nonce)
        {
            Check(OpenSsl.EVP_CipherInit_ex(_context, 0, 0, null, iv, -1), "EVP_CipherInit_ex (nonce)");
        }
        Check(OpenSsl.EVP_CipherUpdate(_context, null, &ignored, header, HeaderSize), "EVP_CipherUpdate (AAD)");
    }

    /// <summary>Key and IV from the current secret (RFC 8446 §7.3), sequence number 0.</summary>
    private void Rekey()
    {
        Span<byte> key = stackalloc byte[_keySize];
        try
        {
            ExpandLabel(_hash, _secret, "key", key);
            ExpandLabel(_hash, _secret, "iv", _iv);
            fixed (byte* k = key)
            {
                Check(OpenSsl.EVP_CipherInit_ex(_context, _cipher, 0, k, null, _encrypt), "EVP_CipherInit_ex (key)");
            }
            _short?.Dispose();
            _short = _shortRecords ? new ShortRecordAesGcm(key) : null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
        _sequence = 0;
    }

    /// <summary>HKDF-Expand-Label with an empty context (RFC 8446 §7.1).</summary>
    internal static void ExpandLabel(HashAlgorithmName hash, ReadOnlySpan<byte> secret, string label, Span<byte> output)
    {
        ReadOnlySpan<byte> prefix = "tls13 "u8;
        Span<byte> info = stackalloc byte[2 + 1 + prefix.Length + label.Length + 1];
        BinaryPrimitives.WriteUInt16BigEndian(info, (ushort)output.Length);
        info[2] = (byte)(prefix.Length + label.Length);
        prefix.CopyTo(info[3..]);
        for (int i = 0; i < label.Length; i++)
        {
            info[3 + prefix.Length + i] = (byte)label[i];
        }
        info[^1] = 0;
        HKDF.Expand(hash, secret, output, info);
    }

    private static void Check(int result, string what)
    {
        if (result != 1)
        {
            throw new IOException($"HBONE TLS: {what} failed: {OpenSslError.Drain("no error queued")}");
        }
    }
}
