using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Ztunnel.Tls;
using Ztunnel.Tls.Native;

namespace Ztunnel.Tests.Tls.Native;

public sealed class NativeTlsStreamTests : IDisposable
{
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task Handshake_NativeBothSides_Tls13H2AesGcmAndPeerIdentities()
    {
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using var clientContext = NativeTlsContext.ForClient(clientCert, _pki.Bundle);
        using var serverContext = NativeTlsContext.ForServer(serverCert, _pki.Bundle);

        // The same contexts serve every connection.
        for (int i = 0; i < 2; i++)
        {
            var (client, server) = await NativeTlsPair.ConnectAsync(clientContext, serverCert.Identity, serverContext);
            await using (client)
            await using (server)
            {
                client.PeerIdentity.ShouldBe(serverCert.Identity);
                server.PeerIdentity.ShouldBe(clientCert.Identity);
                foreach (NativeTlsStream s in new[] { client, server })
                {
                    s.SslProtocol.ShouldBe(SslProtocols.Tls13);
                    s.NegotiatedApplicationProtocol.ShouldBe(SslApplicationProtocol.Http2);
                    s.NegotiatedCipherSuite.ShouldBeOneOf(TlsCipherSuite.TLS_AES_128_GCM_SHA256, TlsCipherSuite.TLS_AES_256_GCM_SHA384);
                }
                await client.WriteAsync("ping"u8.ToArray());
                await client.FlushAsync();
                (await NativeTlsPair.ReadExactlyAsync(server, 4)).ShouldBe("ping"u8.ToArray());
            }
        }
    }

    [Fact]
    public async Task Handshake_IntermediateCa_BothSidesSendTheirChainAndVerifyThePeers()
    {
        using X509Certificate2 intermediate = CertificateMinter.CreateIntermediate(_pki.Root, TestPki.TrustDomain, _pki.Now.AddDays(-1), _pki.Now.AddDays(30));
        using WorkloadCertificate clientCert = CertificateMinter.IssueWorkload(intermediate, TestPki.Id("client"), _pki.Now.AddMinutes(-5), _pki.Now.AddHours(1));
        using WorkloadCertificate serverCert = CertificateMinter.IssueWorkload(intermediate, TestPki.Id("server"), _pki.Now.AddMinutes(-5), _pki.Now.AddHours(1));
        clientCert.Chain.Count.ShouldBe(1);
        using var clientContext = NativeTlsContext.ForClient(clientCert, _pki.Bundle);
        using var serverContext = NativeTlsContext.ForServer(serverCert, _pki.Bundle);

        // The bundle holds only the root: each side verifies only if the other sent its intermediate.
        var (client, server) = await NativeTlsPair.ConnectAsync(clientContext, serverCert.Identity, serverContext);
        await using var _ = client;
        await using var __ = server;

        client.PeerIdentity.ShouldBe(serverCert.Identity);
        server.PeerIdentity.ShouldBe(clientCert.Identity);
    }

    [Fact]
    public async Task Transfer_64MiBBothWaysAtOnce_ArrivesByteExact()
    {
        await using NativeBothSides pair = await ConnectBothSidesAsync();
        var (client, server) = (pair.Client, pair.Server);

        await TransferBothWaysAsync(client, server);
    }

    [Fact]
    public async Task Transfer_OurClientAndSslStreamServer_64MiBBothWaysAtOnce()
    {
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using var clientContext = NativeTlsContext.ForClient(clientCert, _pki.Bundle);
        var (client, server) = await NativeTlsPair.ConnectToSslStreamAsync(clientContext, serverCert.Identity, HboneTls.ServerOptions(serverCert, _pki.Bundle));
        await using NativeTlsStream ours = await client;
        await using SslStream peer = await server;
        HboneTls.GetPeerIdentity(peer).ShouldBe(clientCert.Identity);

        await TransferBothWaysAsync(ours, peer);
    }

    [Fact]
    public async Task Transfer_SslStreamClientAndOurServer_64MiBBothWaysAtOnce()
    {
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using var serverContext = NativeTlsContext.ForServer(serverCert, _pki.Bundle);
        var (client, server) = await NativeTlsPair.ConnectFromSslStreamAsync(HboneTls.ClientOptions(clientCert, _pki.Bundle, serverCert.Identity), serverContext);
        await using SslStream peer = await client;
        await using NativeTlsStream ours = await server;
        ours.PeerIdentity.ShouldBe(clientCert.Identity);
        peer.NegotiatedApplicationProtocol.ShouldBe(SslApplicationProtocol.Http2);

        await TransferBothWaysAsync(ours, peer);
    }

    [Fact]
    public async Task Transfer_BulkThenManySmallMessagesThenBulk_ArrivesByteExact()
    {
        // The send buffer grows for bulk, shrinks after a run of small sends, and grows again: nothing is lost
        // or reordered across the resizes.
        await using NativeBothSides pair = await ConnectBothSidesAsync();
        var (client, server) = (pair.Client, pair.Server);

        for (int round = 0; round < 2; round++)
        {
            byte[] bulk = NativeTlsPair.RandomBytes((4 << 20) + round);
            Task<byte[]> received = NativeTlsPair.ReadExactlyAsync(server, bulk.Length);
            await NativeTlsPair.WriteBatchesAsync(client, bulk);
            (await received).AsSpan().SequenceEqual(bulk).ShouldBeTrue();
            for (int i = 0; i < 40; i++)
            {
                byte[] small = NativeTlsPair.RandomBytes(100 + i);
                await client.WriteAsync(small);
                await client.FlushAsync();
                (await NativeTlsPair.ReadExactlyAsync(server, small.Length)).ShouldBe(small);
            }
        }
    }

    [Fact]
    public async Task ZeroByteWaitThenRead_SmallMessages_OneSocketReadEach()
    {
        // How the HTTP/2 read loop waits between messages: a zero-byte read (holding no buffer), then the read. After a
        // drained small read the zero-byte read waits for the poller without asking the socket (an EAGAIN read).
        await using NativeBothSides pair = await ConnectBothSidesAsync();
        var (client, server) = (pair.Client, pair.Server);
        const int Messages = 200;
        long readsBefore = server.SocketReads;
        byte[] into = new byte[4096];

        for (int i = 0; i < Messages; i++)
        {
            byte[] request = NativeTlsPair.RandomBytes(64 + i);
            ValueTask<int> wait = server.ReadAsync(Memory<byte>.Empty); // waits before the message is sent
            await client.WriteAsync(request);
            await client.FlushAsync();
            (await wait.AsTask().WaitAsync(LoopbackTls.HangGuard)).ShouldBe(0);
            int read = await server.ReadAsync(into).AsTask().WaitAsync(LoopbackTls.HangGuard);
            into.AsSpan(0, read).ToArray().ShouldBe(request, "one record, read whole after the wait");
        }

        (server.SocketReads - readsBefore).ShouldBeInRange(Messages, Messages + 2);

        // The end still ends a zero-byte wait, and the read after it reports it.
        await client.ShutdownAsync();
        client.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        (await server.ReadAsync(Memory<byte>.Empty).AsTask().WaitAsync(LoopbackTls.HangGuard)).ShouldBe(0);
        (await server.ReadAsync(into).AsTask().WaitAsync(LoopbackTls.HangGuard)).ShouldBe(0);
    }

    [Fact]
    public async Task Read_SmallMessagesOneAtATime_OneSocketReadEach()
    {
        // A request/response exchange: each message arrives alone, while the reader already waits. The receive
        // that took it came back short (the socket drained), so the next read waits for the poller's event instead of
        // asking the socket again first: one read(2) per message, where a probe would add an EAGAIN read to each.
        await using NativeBothSides pair = await ConnectBothSidesAsync();
        var (client, server) = (pair.Client, pair.Server);
        const int Messages = 200;
        long readsBefore = server.SocketReads;

        for (int i = 0; i < Messages; i++)
        {
            byte[] request = NativeTlsPair.RandomBytes(64 + i);
            Task<byte[]> serverReads = NativeTlsPair.ReadExactlyAsync(server, request.Length); // waits before the message is sent
            await client.WriteAsync(request);
            await client.FlushAsync();
            (await serverReads).ShouldBe(request);
            Task<byte[]> clientReads = NativeTlsPair.ReadExactlyAsync(client, 8);
            await server.WriteAsync(request.AsMemory(0, 8));
            await server.FlushAsync();
            (await clientReads).ShouldBe(request[..8]);
        }

        // The first read after the handshake may still ask the socket once (the handshake's last receive was
        // OpenSSL's, not watched): a probe per message would make it ~2 * Messages.
        (server.SocketReads - readsBefore).ShouldBeInRange(Messages, Messages + 2);

        // The end still shows after a drained read: the client's close_notify, then the TCP close.
        await client.ShutdownAsync();
        client.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        byte[] rest = new byte[16];
        (await server.ReadAsync(rest).AsTask().WaitAsync(LoopbackTls.HangGuard)).ShouldBe(0);
    }

    private Task<NativeBothSides> ConnectBothSidesAsync() => NativeBothSides.ConnectAsync(_pki);

    // One reader and one writer on each side at once, as HTTP/2 runs them; byte-exact both ways.
    private static async Task TransferBothWaysAsync(Stream a, Stream b)
    {
        byte[] ab = NativeTlsPair.RandomBytes(64 << 20);
        byte[] ba = NativeTlsPair.RandomBytes((64 << 20) + 7);
        Task<byte[]> bReads = NativeTlsPair.ReadExactlyAsync(b, ab.Length);
        Task<byte[]> aReads = NativeTlsPair.ReadExactlyAsync(a, ba.Length);
        Task writes = Task.WhenAll(NativeTlsPair.WriteBatchesAsync(a, ab), NativeTlsPair.WriteBatchesAsync(b, ba));
        await Task.WhenAll(aReads, bReads, writes).WaitAsync(TimeSpan.FromMinutes(2));
        (await bReads).AsSpan().SequenceEqual(ab).ShouldBeTrue();
        (await aReads).AsSpan().SequenceEqual(ba).ShouldBeTrue();
    }
}
