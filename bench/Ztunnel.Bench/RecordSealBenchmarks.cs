using System.Net.Security;
using BenchmarkDotNet.Attributes;
using Ztunnel.Tls.Native;

namespace Ztunnel.Bench;

/// <summary>
/// One TLS record sealed and opened, by the short-record AES-GCM and by OpenSSL's EVP interface, at the sizes around
/// <see cref="TlsRecordProtection.ShortRecordLimit"/>: where the two cross is where the limit belongs.
/// </summary>
public unsafe class RecordSealBenchmarks
{
    private TlsRecordProtection _sealer = null!;
    private TlsRecordProtection _opener = null!;
    private byte[] _plaintext = null!;
    private byte[] _record = null!;
    private byte[] _first = null!;

    [Params(64, 512, 1024, 2048, 4096, 16384)]
    public int Size { get; set; }

    [Params(true, false)]
    public bool ShortRecords { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        byte[] secret = new byte[32];
        Random.Shared.NextBytes(secret);
        _sealer = TlsRecordProtection.For(TlsCipherSuite.TLS_AES_128_GCM_SHA256, secret, encrypt: true, ShortRecords)!;
        _opener = TlsRecordProtection.For(TlsCipherSuite.TLS_AES_128_GCM_SHA256, secret, encrypt: false, ShortRecords)!;
        _plaintext = new byte[Size];
        _record = new byte[Size + TlsRecordProtection.Overhead];
        _first = new byte[Size + 1];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sealer.Dispose();
        _opener.Dispose();
    }

    /// <summary>Seal, then open what was sealed (the sequence numbers advance together).</summary>
    [Benchmark]
    public int SealAndOpen()
    {
        fixed (byte* record = _record)
        {
            int length = _sealer.Seal(_plaintext, TlsRecordProtection.ContentApplicationData, record);
            return _opener.Open(record, length - TlsRecordProtection.HeaderSize, _first);
        }
    }
}
