using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Ztunnel.Tls;

namespace Ztunnel.E2E.Interop;

/// <summary>One test mesh (root + workload certificates) and an mTLS dialer for our client.</summary>
internal static class InteropPki
{
    public const string TrustDomain = "cluster.local";
    public static readonly SpiffeId ClientId = new(TrustDomain, "client-ns", "client-sa");
    public static readonly SpiffeId ServerId = new(TrustDomain, "server-ns", "server-sa");

    private static readonly Lazy<X509Certificate2> LazyRoot = new(() =>
        CertificateMinter.CreateRoot(TrustDomain, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1)));

    public static X509Certificate2 Root => LazyRoot.Value;

    public static TrustBundle Bundle => new([X509CertificateLoader.LoadCertificate(Root.RawData)]);

    public static WorkloadCertificate Issue(SpiffeId id) =>
        CertificateMinter.IssueWorkload(Root, id, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));

    /// <summary>TCP + mTLS (ALPN h2) to <paramref name="endPoint"/>, expecting <paramref name="server"/>'s identity.</summary>
    public static async Task<Stream> DialAsync(IPEndPoint endPoint, SpiffeId client, SpiffeId server, CancellationToken ct = default)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endPoint, ct);
            var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
            await tls.AuthenticateAsClientAsync(HboneTls.ClientOptions(Issue(client), Bundle, server), ct);
            tls.NegotiatedApplicationProtocol.ShouldBe(SslApplicationProtocol.Http2);
            return tls;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
