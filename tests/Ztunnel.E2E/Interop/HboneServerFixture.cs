using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Hbone;
using Ztunnel.Hbone.Server;
using Ztunnel.Tls;
using Ztunnel.Tls.Native;

namespace Ztunnel.E2E.Interop;

/// <summary>
/// Our HBONE server on 127.0.0.1:0 with a minted mesh written to PEM files for external clients.
/// The handler picks behaviour by the CONNECT's target port: 1 echo, 2 half-close probe, 401/503 reject.
/// </summary>
internal sealed class HboneServerFixture : IAsyncDisposable
{
    public const string TrustDomain = "cluster.local";
    public static readonly SpiffeId ServerId = new(TrustDomain, "server-ns", "server-sa");
    public static readonly SpiffeId ClientId = new(TrustDomain, "client-ns", "client-sa");

    private readonly List<HboneRequest> _requests = [];

    private HboneServerFixture(string directory, HboneServer server, IPEndPoint endPoint)
    {
        Directory = directory;
        Server = server;
        EndPoint = endPoint;
    }

    public string Directory { get; }
    public HboneServer Server { get; }
    public IPEndPoint EndPoint { get; }
    public string CaPath => Path.Combine(Directory, "ca.pem");
    public string CertPath => Path.Combine(Directory, "client-cert.pem");
    public string KeyPath => Path.Combine(Directory, "client-key.pem");

    /// <summary>What the half-close session read before the client's END_STREAM.</summary>
    public TaskCompletionSource<string> HalfCloseReceived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<HboneRequest> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    public static async Task<HboneServerFixture> StartAsync()
    {
        string directory = System.IO.Directory.CreateTempSubdirectory("server-interop-").FullName;
        var now = DateTimeOffset.UtcNow;
        using var root = CertificateMinter.CreateRoot(TrustDomain, now.AddHours(-1), now.AddDays(1));
        var serverCert = CertificateMinter.IssueWorkload(root, ServerId, now.AddMinutes(-5), now.AddHours(1));
        var clientCert = CertificateMinter.IssueWorkload(root, ClientId, now.AddMinutes(-5), now.AddHours(1));
        await File.WriteAllTextAsync(Path.Combine(directory, "ca.pem"), root.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(directory, "client-cert.pem"), clientCert.Certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(directory, "client-key.pem"), clientCert.Certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());

        var bundle = new TrustBundle([X509CertificateLoader.LoadCertificate(root.RawData)]);
        var fixture = default(HboneServerFixture);
        var server = new HboneServer(new Handler(() => fixture!), NullLoggerFactory.Instance);
        await server.StartAsync();
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(128);
        var endPoint = (IPEndPoint)socket.LocalEndPoint!;
        server.Listeners.Add(socket, new HboneListenerInfo("server-ns/pod", endPoint, NativeTlsContext.ForServer(serverCert, bundle)));
        fixture = new HboneServerFixture(directory, server, endPoint);
        return fixture;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Server.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }

    private sealed class Handler(Func<HboneServerFixture> fixture) : IHboneRequestHandler
    {
        public ValueTask<HboneAcceptResult> AcceptAsync(HboneRequest request, CancellationToken cancellationToken)
        {
            var f = fixture();
            lock (f._requests)
            {
                f._requests.Add(request);
            }
            return ValueTask.FromResult(request.Authority.Port switch
            {
                1 => HboneAcceptResult.Accept(new EchoSession()),
                2 => HboneAcceptResult.Accept(new HalfCloseSession(f.HalfCloseReceived)),
                401 => HboneAcceptResult.Reject(HboneStatus.Unauthorized, "interop test denies port 401"),
                _ => HboneAcceptResult.Reject(HboneStatus.ServiceUnavailable, "interop test has no such port"),
            });
        }
    }

    private sealed class EchoSession : IHboneSession
    {
        public async Task RunAsync(TunnelStream tunnel, CancellationToken cancellationToken)
        {
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = await tunnel.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await tunnel.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
            }
            await tunnel.CompleteWritesAsync(cancellationToken);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>Reads to the client's END_STREAM, then answers (proving the response side is still open), then ends.</summary>
    private sealed class HalfCloseSession(TaskCompletionSource<string> received) : IHboneSession
    {
        public async Task RunAsync(TunnelStream tunnel, CancellationToken cancellationToken)
        {
            var all = new MemoryStream();
            await tunnel.CopyToAsync(all, cancellationToken);
            string text = System.Text.Encoding.ASCII.GetString(all.ToArray());
            received.TrySetResult(text);
            await tunnel.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"after your end I got '{text}'"), cancellationToken);
            await tunnel.CompleteWritesAsync(cancellationToken);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
