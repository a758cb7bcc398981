using System.Net.Security;
using Ztunnel.Tls;
using Ztunnel.Tls.Native;

namespace Ztunnel.Tests.Tls.Native;

/// <summary>
/// Our TLS 1.3 record layer after OpenSSL's handshake: records split over reads of any size, KeyUpdates in both
/// directions (read by OpenSSL through SslStream as well as by us), records a TLS 1.3 peer may not send, and an idle
/// connection holding no receive buffer.
/// </summary>
public sealed class NativeTlsRecordLayerTests : IDisposable
{
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task Read_BuffersOfOddSizes_BulkArrivesByteExact()
    {
        // A record opens straight into the reader's buffer as far as it fits; the rest waits in the receive buffer. Sizes
        // around a record's plaintext (16384, plus its content-type byte) and far below it.
        await using NativeBothSides pair = await NativeBothSides.ConnectAsync(_pki);
        byte[] data = NativeTlsPair.RandomBytes((1 << 20) + 3);
        Task writes = NativeTlsPair.WriteBatchesAsync(pair.Client, data);
        int[] sizes = [1, 7, 16383, 16384, 16385, 40000, 65536, 100];
        byte[] received = new byte[data.Length];
        int total = 0;
        for (int i = 0; total < data.Length; i++)
        {
            int size = Math.Min(sizes[i % sizes.Length], data.Length - total);
            int read = await pair.Server.ReadAsync(received.AsMemory(total, size)).AsTask().WaitAsync(LoopbackTls.HangGuard);
            read.ShouldBeGreaterThan(0);
            total += read;
        }
        await writes;
        received.AsSpan().SequenceEqual(data).ShouldBeTrue();
    }

    [Fact]
    public async Task KeyUpdate_OurWriterReachesItsRecordLimit_SslStreamPeerReadsAcrossTheKeys()
    {
        // OpenSSL (under SslStream) checks our KeyUpdates: every record after one is under the next key.
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using var clientContext = NativeTlsContext.ForClient(clientCert, _pki.Bundle);
        var (client, server) = await NativeTlsPair.ConnectToSslStreamAsync(clientContext, serverCert.Identity, HboneTls.ServerOptions(serverCert, _pki.Bundle));
        await using NativeTlsStream ours = await client;
        await using SslStream peer = await server;
        ours.RecordsPerKey = 4;

        byte[] data = NativeTlsPair.RandomBytes(40 * 16 * 1024);
        Task<byte[]> peerReads = NativeTlsPair.ReadExactlyAsync(peer, data.Length);
        await NativeTlsPair.WriteBatchesAsync(ours, data);
        (await peerReads).AsSpan().SequenceEqual(data).ShouldBeTrue();
        ours.KeyUpdatesSent.ShouldBeGreaterThanOrEqualTo(9);

        // And the other way, on the connection as it is now.
        byte[] answer = NativeTlsPair.RandomBytes(100_000);
        Task<byte[]> oursReads = NativeTlsPair.ReadExactlyAsync(ours, answer.Length);
        await peer.WriteAsync(answer);
        await peer.FlushAsync();
        (await oursReads).ShouldBe(answer);
    }

    [Fact]
    public async Task KeyUpdate_BothSidesOurs_EachReadsTheOthersNextKeys()
    {
        await using NativeBothSides pair = await NativeBothSides.ConnectAsync(_pki);
        pair.Client.RecordsPerKey = 2;
        pair.Server.RecordsPerKey = 3;

        byte[] up = NativeTlsPair.RandomBytes(1 << 20);
        byte[] down = NativeTlsPair.RandomBytes((1 << 20) + 11);
        Task<byte[]> serverReads = NativeTlsPair.ReadExactlyAsync(pair.Server, up.Length);
        Task<byte[]> clientReads = NativeTlsPair.ReadExactlyAsync(pair.Client, down.Length);
        await Task.WhenAll(NativeTlsPair.WriteBatchesAsync(pair.Client, up), NativeTlsPair.WriteBatchesAsync(pair.Server, down)).WaitAsync(LoopbackTls.HangGuard);
        (await serverReads).AsSpan().SequenceEqual(up).ShouldBeTrue();
        (await clientReads).AsSpan().SequenceEqual(down).ShouldBeTrue();

        pair.Client.KeyUpdatesSent.ShouldBeGreaterThan(20);
        pair.Server.KeyUpdatesReceived.ShouldBe(pair.Client.KeyUpdatesSent);
        pair.Server.KeyUpdatesSent.ShouldBeGreaterThan(15);
        pair.Client.KeyUpdatesReceived.ShouldBe(pair.Server.KeyUpdatesSent);
    }

    public static TheoryData<string, byte[], string> HostileRecords => new()
    {
        // RFC 8446 §5: after the handshake every record is protected (outer type application_data, 23).
        { "outer type 22", [22, 3, 3, 0, 4, 1, 2, 3, 4], "unexpected message" },
        { "outer type 20", [20, 3, 3, 0, 1, 1], "unexpected message" },
        // §5.2: at most 2^14 + 256 bytes of ciphertext; refused from the header alone.
        { "record_overflow", [23, 3, 3, 0x41, 0x01], "record overflow" },
        // A body no longer than the AEAD tag cannot hold a content type.
        { "too short to be protected", [23, 3, 3, 0, 16, .. new byte[16]], "decode error" },
        // Well formed, but not sealed with the peer's key.
        { "bad_record_mac", [23, 3, 3, 0, 40, .. NativeTlsPair.RandomBytes(40)], "bad record mac" },
    };

    [Theory]
    [MemberData(nameof(HostileRecords))]
    public async Task Read_RecordATls13PeerMayNotSend_IOExceptionSaysWhyAndThePeerHearsAFatalAlert(string reason, byte[] record, string alert)
    {
        await using NativeBothSides pair = await NativeBothSides.ConnectAsync(_pki);
        // Written under the client's record layer, straight onto its socket.
        pair.Client.Socket.Send(record);

        var error = await Should.ThrowAsync<IOException>(
            () => pair.Server.ReadAsync(new byte[1024]).AsTask().WaitAsync(LoopbackTls.HangGuard));
        error.Message.ShouldContain(reason);

        // RFC 8446 §6.2: the peer is told why, with a fatal alert under the current key (without one its read would
        // wait for the close), and nothing is sealed after it.
        var told = await Should.ThrowAsync<IOException>(
            () => pair.Client.ReadAsync(new byte[1024]).AsTask().WaitAsync(LoopbackTls.HangGuard));
        told.Message.ShouldContain($"alert {alert}");
        var write = await Should.ThrowAsync<IOException>(() => pair.Server.WriteAsync(new byte[16]).AsTask());
        write.Message.ShouldContain("fatal alert");
    }

    [Fact]
    public async Task ZeroByteRead_IdleConnection_HoldsNoReceiveBufferWhileItWaits()
    {
        // How the HTTP/2 read loop waits between messages: a connection at rest keeps no 64 KiB buffer.
        await using NativeBothSides pair = await NativeBothSides.ConnectAsync(_pki);
        byte[] message = NativeTlsPair.RandomBytes(300);
        await pair.Client.WriteAsync(message);
        await pair.Client.FlushAsync();
        (await NativeTlsPair.ReadExactlyAsync(pair.Server, message.Length)).ShouldBe(message);
        pair.Server.HoldsReceiveBuffer.ShouldBeTrue("the read that took the message keeps it while the reader is busy");

        ValueTask<int> wait = pair.Server.ReadAsync(Memory<byte>.Empty);
        wait.IsCompleted.ShouldBeFalse();
        pair.Server.HoldsReceiveBuffer.ShouldBeFalse();

        await pair.Client.WriteAsync(message);
        await pair.Client.FlushAsync();
        (await wait.AsTask().WaitAsync(LoopbackTls.HangGuard)).ShouldBe(0);
        (await NativeTlsPair.ReadExactlyAsync(pair.Server, message.Length)).ShouldBe(message);
    }
}
