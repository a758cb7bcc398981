using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Identity;
using Ztunnel.Tests.Discovery;
using Ztunnel.Tls;

namespace Ztunnel.Tests.Identity;

/// <summary>Certificates from the manager, signed by a CA made with `ca init`, used for a real HBONE mTLS handshake.</summary>
public sealed class CertificateManagerTlsTests : IDisposable
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _dir = new();

    [Fact]
    public async Task IssuedCertificates_AuthenticateBothPeersOverHboneTls()
    {
        CaFiles.Initialize(_dir.File("ca"), "cluster.local", force: false).Dispose();
        using var ca = FileCertificateAuthority.Load(_dir.File("ca"));
        using var manager = new CertificateManager(ca, TimeSpan.FromHours(1), NullLogger<CertificateManager>.Instance);
        var client = SpiffeId.Parse("spiffe://cluster.local/ns/demo/sa/sleep");
        var server = SpiffeId.Parse("spiffe://cluster.local/ns/demo/sa/echo");
        manager.Acquire(client);
        manager.Acquire(server);
        var clientCert = await manager.GetAsync(client).WaitAsync(HangGuard);
        var serverCert = await manager.GetAsync(server).WaitAsync(HangGuard);

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serverSide = Task.Run(async () =>
        {
            using var socket = await listener.AcceptTcpClientAsync();
            await using var tls = new SslStream(socket.GetStream());
            await tls.AuthenticateAsServerAsync(HboneTls.ServerOptions(serverCert, manager.TrustBundle));
            return HboneTls.GetPeerIdentity(tls);
        });
        using var tcp = new TcpClient();
        await tcp.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        await using var clientTls = new SslStream(tcp.GetStream());
        await clientTls.AuthenticateAsClientAsync(HboneTls.ClientOptions(clientCert, manager.TrustBundle, server)).WaitAsync(HangGuard);

        HboneTls.GetPeerIdentity(clientTls).ShouldBe(server);
        (await serverSide.WaitAsync(HangGuard)).ShouldBe(client);
    }

    public void Dispose() => _dir.Dispose();
}
