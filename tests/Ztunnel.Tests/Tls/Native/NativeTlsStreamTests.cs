using System.Net.Security;
using System.Security.Authentication;
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
    public async Task Transfer_64MiBBothWaysAtOnce_ArrivesByteExact()
    {
        using WorkloadCertificate clientCert = _pki.Issue("client");
        using WorkloadCertificate serverCert = _pki.Issue("server");
        using var clientContext = NativeTlsContext.ForClient(clientCert, _pki.Bundle);
        using var serverContext = NativeTlsContext.ForServer(serverCert, _pki.Bundle);
        var (client, server) = await NativeTlsPair.ConnectAsync(clientContext, serverCert.Identity, serverContext);
        await using var _ = client;
        await using var __ = server;
        byte[] up = NativeTlsPair.RandomBytes(64 << 20);
        byte[] down = NativeTlsPair.RandomBytes((64 << 20) + 7);

        // One reader and one writer per connection side run concurrently, as HTTP/2 runs them.
        Task<byte[]> serverReads = NativeTlsPair.ReadExactlyAsync(server, up.Length);
        Task<byte[]> clientReads = NativeTlsPair.ReadExactlyAsync(client, down.Length);
        Task writes = Task.WhenAll(NativeTlsPair.WriteBatchesAsync(client, up), NativeTlsPair.WriteBatchesAsync(server, down));
        await Task.WhenAll(serverReads, clientReads, writes).WaitAsync(TimeSpan.FromMinutes(2));

        (await serverReads).AsSpan().SequenceEqual(up).ShouldBeTrue();
        (await clientReads).AsSpan().SequenceEqual(down).ShouldBeTrue();
    }
}
