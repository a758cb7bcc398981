using System.Net.Security;
using Ztunnel.Tls.Native;

namespace Ztunnel.Tests.Tls.Native;

/// <summary>One direction's record protection on its own: what one side seals the other opens, under the same keys only.</summary>
public sealed unsafe class TlsRecordProtectionTests
{
    private static readonly byte[] Secret32 = NativeTlsPair.RandomBytes(32);
    private static readonly byte[] Secret48 = NativeTlsPair.RandomBytes(48);

    [Theory]
    [InlineData(TlsCipherSuite.TLS_AES_128_GCM_SHA256, 32)]
    [InlineData(TlsCipherSuite.TLS_AES_256_GCM_SHA384, 48)]
    public void SealThenOpen_ManyRecords_SamePlaintextAndType(TlsCipherSuite suite, int secretLength)
    {
        byte[] secret = secretLength == 32 ? Secret32 : Secret48;
        using TlsRecordProtection sealer = TlsRecordProtection.For(suite, secret, encrypt: true)!;
        using TlsRecordProtection opener = TlsRecordProtection.For(suite, secret, encrypt: false)!;
        foreach (int length in new[] { 0, 1, 100, TlsRecordProtection.MaxPlaintext })
        {
            byte[] plaintext = NativeTlsPair.RandomBytes(length);
            byte[] record = Seal(sealer, plaintext, TlsRecordProtection.ContentApplicationData);
            record.Length.ShouldBe(length + TlsRecordProtection.Overhead);
            record.AsSpan(0, 3).ToArray().ShouldBe(new byte[] { 23, 3, 3 }, "the outer type is always application_data");
            record.AsSpan(TlsRecordProtection.HeaderSize, length).SequenceEqual(plaintext).ShouldBe(length == 0, "the body is encrypted");

            byte[] inner = Open(opener, record, firstLength: length / 2);
            inner.AsSpan(0, length).SequenceEqual(plaintext).ShouldBeTrue();
            inner[^1].ShouldBe(TlsRecordProtection.ContentApplicationData);
        }
    }

    [Theory]
    [InlineData(TlsCipherSuite.TLS_AES_128_GCM_SHA256, 32)]
    [InlineData(TlsCipherSuite.TLS_AES_256_GCM_SHA384, 48)]
    public void ShortRecordsAndOpenSsl_OpenEachOthersRecords_AtEveryLengthAroundTheLimit(TlsCipherSuite suite, int secretLength)
    {
        byte[] secret = secretLength == 32 ? Secret32 : Secret48;
        using TlsRecordProtection shortSealer = TlsRecordProtection.For(suite, secret, encrypt: true)!;
        using TlsRecordProtection shortOpener = TlsRecordProtection.For(suite, secret, encrypt: false)!;
        using TlsRecordProtection evpSealer = TlsRecordProtection.For(suite, secret, encrypt: true, shortRecords: false)!;
        using TlsRecordProtection evpOpener = TlsRecordProtection.For(suite, secret, encrypt: false, shortRecords: false)!;
        int limit = TlsRecordProtection.ShortRecordLimit;
        foreach (int length in new[] { 0, 1, 15, 16, 63, 64, 95, 100, limit - 2, limit - 1, limit, 5000, TlsRecordProtection.MaxPlaintext })
        {
            byte[] plaintext = NativeTlsPair.RandomBytes(length);
            byte[] ours = Seal(shortSealer, plaintext, TlsRecordProtection.ContentHandshake);
            byte[] openSsls = Seal(evpSealer, plaintext, TlsRecordProtection.ContentHandshake);
            ours.ShouldBe(openSsls, $"the same key, nonce and plaintext seal to the same record ({length} bytes)");

            byte[] inner = Open(evpOpener, ours, firstLength: length / 3);
            inner.AsSpan(0, length).SequenceEqual(plaintext).ShouldBeTrue($"OpenSSL opens ours ({length} bytes)");
            inner[^1].ShouldBe(TlsRecordProtection.ContentHandshake);
            inner = Open(shortOpener, openSsls, firstLength: length / 3);
            inner.AsSpan(0, length).SequenceEqual(plaintext).ShouldBeTrue($"we open OpenSSL's ({length} bytes)");
            inner[^1].ShouldBe(TlsRecordProtection.ContentHandshake);
        }
    }

    [Fact]
    public void Open_ShortRecordTampered_RefusedAsBadRecordMac()
    {
        using TlsRecordProtection sealer = TlsRecordProtection.For(TlsCipherSuite.TLS_AES_128_GCM_SHA256, Secret32, encrypt: true)!;
        using TlsRecordProtection opener = TlsRecordProtection.For(TlsCipherSuite.TLS_AES_128_GCM_SHA256, Secret32, encrypt: false)!;
        byte[] record = Seal(sealer, NativeTlsPair.RandomBytes(64), TlsRecordProtection.ContentApplicationData);
        record[TlsRecordProtection.HeaderSize + 10] ^= 1;

        Should.Throw<IOException>(() => Open(opener, record, 64)).Message.ShouldContain("bad_record_mac");
    }

    [Fact]
    public void Update_OnlyOnTheSealingSide_TheOtherCannotOpenUntilItUpdatesToo()
    {
        using TlsRecordProtection sealer = TlsRecordProtection.For(TlsCipherSuite.TLS_AES_128_GCM_SHA256, Secret32, encrypt: true)!;
        using TlsRecordProtection opener = TlsRecordProtection.For(TlsCipherSuite.TLS_AES_128_GCM_SHA256, Secret32, encrypt: false)!;
        using TlsRecordProtection stale = TlsRecordProtection.For(TlsCipherSuite.TLS_AES_128_GCM_SHA256, Secret32, encrypt: false)!;
        byte[] plaintext = NativeTlsPair.RandomBytes(500);
        byte[] before = Seal(sealer, plaintext, TlsRecordProtection.ContentApplicationData);
        Open(opener, before.ToArray(), 500); // a copy each: what does not fit the first buffer is opened in place
        Open(stale, before, 500);

        sealer.Update();
        opener.Update();
        byte[] record = Seal(sealer, plaintext, TlsRecordProtection.ContentApplicationData);
        sealer.Sequence.ShouldBe(1UL, "a new key starts its sequence at 0");
        Open(opener, record, 500).AsSpan(0, 500).SequenceEqual(plaintext).ShouldBeTrue();
        Should.Throw<IOException>(() => Open(stale, record, 500)).Message.ShouldContain("bad_record_mac");
    }

    [Fact]
    public void Open_RecordReplayedOrReordered_RefusedByItsSequenceNumber()
    {
        using TlsRecordProtection sealer = TlsRecordProtection.For(TlsCipherSuite.TLS_AES_128_GCM_SHA256, Secret32, encrypt: true)!;
        using TlsRecordProtection opener = TlsRecordProtection.For(TlsCipherSuite.TLS_AES_128_GCM_SHA256, Secret32, encrypt: false)!;
        byte[] first = Seal(sealer, [1, 2, 3], TlsRecordProtection.ContentApplicationData);
        byte[] second = Seal(sealer, [4, 5, 6], TlsRecordProtection.ContentApplicationData);

        Should.Throw<IOException>(() => Open(opener, second, 0)).Message.ShouldContain("bad_record_mac");
    }

    [Fact]
    public void For_SecretOfTheWrongLengthOrOtherSuite_Null()
    {
        TlsRecordProtection.For(TlsCipherSuite.TLS_AES_128_GCM_SHA256, Secret48, encrypt: true).ShouldBeNull();
        TlsRecordProtection.For(TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256, Secret32, encrypt: true).ShouldBeNull();
    }

    private static byte[] Seal(TlsRecordProtection sealer, byte[] plaintext, byte type)
    {
        byte[] record = new byte[plaintext.Length + TlsRecordProtection.Overhead];
        fixed (byte* p = record)
        {
            sealer.Seal(plaintext, type, p).ShouldBe(record.Length);
        }
        return record;
    }

    /// <summary>The inner plaintext (content, type), opened with its first <paramref name="firstLength"/> bytes out of place.</summary>
    private static byte[] Open(TlsRecordProtection opener, byte[] record, int firstLength)
    {
        int bodyLength = record.Length - TlsRecordProtection.HeaderSize;
        byte[] first = new byte[Math.Min(firstLength, bodyLength - TlsRecordProtection.TagSize)];
        int inner;
        fixed (byte* p = record)
        {
            inner = opener.Open(p, bodyLength, first);
        }
        byte[] result = new byte[inner];
        first.CopyTo(result, 0);
        record.AsSpan(TlsRecordProtection.HeaderSize + first.Length, inner - first.Length).CopyTo(result.AsSpan(first.Length));
        return result;
    }
}
