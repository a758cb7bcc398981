using Ztunnel.Tls;
using Ztunnel.Tls.Native;

namespace Ztunnel.Tests.Tls.Native;

/// <summary>Our transport on both sides of a loopback connection, and what it was made of; disposing it closes both streams and frees the rest.</summary>
internal sealed class NativeBothSides(WorkloadCertificate clientCert, WorkloadCertificate serverCert, NativeTlsContext clientContext,
    NativeTlsContext serverContext) : IAsyncDisposable
{
    public NativeTlsStream Client { get; private set; } = null!;
    public NativeTlsStream Server { get; private set; } = null!;

    /// <summary>A connected pair with fresh certificates from <paramref name="pki"/>.</summary>
    public static async Task<NativeBothSides> ConnectAsync(TestPki pki)
    {
        WorkloadCertificate clientCert = pki.Issue("client");
        WorkloadCertificate serverCert = pki.Issue("server");
        var clientContext = NativeTlsContext.ForClient(clientCert, pki.Bundle);
        var serverContext = NativeTlsContext.ForServer(serverCert, pki.Bundle);
        var pair = new NativeBothSides(clientCert, serverCert, clientContext, serverContext);
        try
        {
            (pair.Client, pair.Server) = await NativeTlsPair.ConnectAsync(clientContext, serverCert.Identity, serverContext);
            return pair;
        }
        catch
        {
            await pair.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Client is not null)
        {
            await Client.DisposeAsync();
        }
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
        clientContext.Dispose();
        serverContext.Dispose();
        clientCert.Dispose();
        serverCert.Dispose();
    }
}
