using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Hbone;
using Ztunnel.Hbone.Server;
using Ztunnel.Tls;
using Ztunnel.Tls.Native;

namespace Ztunnel.Bench;

/// <summary>
/// Loopback throughput of ONE HBONE CONNECT stream (our HTTP/2 client -> our HTTP/2 server, mTLS) beside a
/// raw SslStream pair with the same certificates, in the same run. Each operation moves <see cref="Megabytes"/>
/// MiB one way and waits for the far side to confirm it read them all. Throughput = size / mean time.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 8)]
public class TunnelThroughputBenchmarks
{
    private const int ChunkSize = 64 * 1024;
    private static readonly SpiffeId ClientId = new("cluster.local", "bench", "client");
    private static readonly SpiffeId ServerId = new("cluster.local", "bench", "server");

    private readonly byte[] _chunk = new byte[ChunkSize];
    private readonly byte[] _readBuffer = new byte[ChunkSize];
    private HboneServer _server = null!;
    private Http2ClientConnection _connection = null!;
    private TunnelStream _uploadTunnel = null!;

    /// <summary>The HBONE client connection to our server, after setup (for the stream-rate console).</summary>
    internal Http2ClientConnection Connection => _connection;
    private TunnelStream _downloadTunnel = null!;
    private IPEndPoint _endPoint = null!;
    private NativeTlsContext _clientContext = null!;

    /// <summary>Another HBONE client connection to our server (the held-tunnel console: 100 streams per connection).</summary>
    internal async Task<Http2ClientConnection> OpenConnectionAsync() =>
        await Http2ClientConnection.StartAsync(await ConnectNativeTlsAsync(_endPoint, _clientContext), TimeProvider.System, NullLogger.Instance, CancellationToken.None);
    private SslStream _rawClient = null!;
    private SslStream _rawServer = null!;
    private Task _rawServerLoop = Task.CompletedTask;

    /// <summary>MiB per operation (fits in the one-byte request of the download session).</summary>
    private const int Megabytes = 128;

    internal const long Bytes = (long)Megabytes << 20;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        using X509Certificate2 root = CertificateMinter.CreateRoot("cluster.local", DateTimeOffset.UtcNow.AddHours(-2), DateTimeOffset.UtcNow.AddDays(2));
        var bundle = new TrustBundle([X509CertificateLoader.LoadCertificate(root.RawData)]);
        WorkloadCertificate serverCert = CertificateMinter.IssueWorkload(root, ServerId, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        WorkloadCertificate clientCert = CertificateMinter.IssueWorkload(root, ClientId, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));

        // HBONE: our HTTP/2 server (HboneServer); "upload" sinks what it reads, "download" sources on request.
        _server = new HboneServer(new BenchHandler(), NullLoggerFactory.Instance);
        await _server.StartAsync();
        var listening = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listening.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listening.Listen(16);
        var endPoint = (IPEndPoint)listening.LocalEndPoint!;
        // Both HBONE ends run the daemon's transport (NativeTlsStream); the raw pair below stays SslStream.
        _server.Listeners.Add(listening, new HboneListenerInfo("bench", endPoint, NativeTlsContext.ForServer(serverCert, bundle)));
        _endPoint = endPoint;
        _clientContext = NativeTlsContext.ForClient(clientCert, bundle);
        var tls = await ConnectNativeTlsAsync(endPoint, _clientContext);
        _connection = await Http2ClientConnection.StartAsync(tls, TimeProvider.System, NullLogger.Instance, CancellationToken.None);
        _uploadTunnel = await _connection.OpenConnectAsync("10.0.0.1:1", null, CancellationToken.None);
        _downloadTunnel = await _connection.OpenConnectAsync("10.0.0.1:2", null, CancellationToken.None);

        // Raw: the same TLS settings on a plain SslStream pair.
        using var rawListener = new TcpListener(IPAddress.Loopback, 0);
        rawListener.Start();
        Task<Socket> accept = rawListener.AcceptSocketAsync();
        Task<SslStream> client = ConnectTlsAsync((IPEndPoint)rawListener.LocalEndpoint, HboneTls.ClientOptions(clientCert, bundle, ServerId));
        Socket accepted = await accept;
        accepted.NoDelay = true;
        _rawServer = new SslStream(new NetworkStream(accepted, ownsSocket: true));
        await _rawServer.AuthenticateAsServerAsync(HboneTls.ServerOptions(serverCert, bundle));
        _rawClient = await client;
    }

    private System.Diagnostics.Process? _node;
    private Http2ClientConnection? _nodeConnection;
    private TunnelStream? _nodeTunnel;
    private TunnelStream? _nodeSink;
    private string? _nodeDirectory;

    /// <summary>Console mode only: the same setup plus a connection to Node's http2 server (h2-connect-server.js).</summary>
    internal async Task SetupNodeAsync(string script)
    {
        await SetupAsync();
        string dir = _nodeDirectory = Directory.CreateTempSubdirectory("h2client-bench-").FullName;
        using X509Certificate2 root = CertificateMinter.CreateRoot("cluster.local", DateTimeOffset.UtcNow.AddHours(-2), DateTimeOffset.UtcNow.AddDays(2));
        var bundle = new TrustBundle([X509CertificateLoader.LoadCertificate(root.RawData)]);
        using WorkloadCertificate serverCert = CertificateMinter.IssueWorkload(root, ServerId, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        WorkloadCertificate clientCert = CertificateMinter.IssueWorkload(root, ClientId, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        await File.WriteAllTextAsync(Path.Combine(dir, "cert.pem"), serverCert.CertificateChainPem());
        await File.WriteAllTextAsync(Path.Combine(dir, "key.pem"), serverCert.PrivateKeyPem());
        await File.WriteAllTextAsync(Path.Combine(dir, "ca.pem"), bundle.ToPem());
        var start = new System.Diagnostics.ProcessStartInfo("node") { RedirectStandardInput = true, RedirectStandardOutput = true };
        foreach (string arg in new[] { script, $"--cert={dir}/cert.pem", $"--key={dir}/key.pem", $"--ca={dir}/ca.pem" })
        {
            start.ArgumentList.Add(arg);
        }
        _node = System.Diagnostics.Process.Start(start)!;
        string line = (await _node.StandardOutput.ReadLineAsync())!;
        int port = System.Text.Json.JsonDocument.Parse(line).RootElement.GetProperty("port").GetInt32();
        var tls = await ConnectTlsAsync(new IPEndPoint(IPAddress.Loopback, port), HboneTls.ClientOptions(clientCert, bundle, ServerId));
        _nodeConnection = await Http2ClientConnection.StartAsync(tls, TimeProvider.System, NullLogger.Instance, CancellationToken.None);
        _nodeTunnel = await _nodeConnection.OpenConnectAsync("source.bench:1", null, CancellationToken.None);
        _nodeSink = await _nodeConnection.OpenConnectAsync($"sink.bench:{Megabytes}", null, CancellationToken.None);
    }

    internal async Task NodeUpload()
    {
        for (long sent = 0; sent < Bytes; sent += ChunkSize)
        {
            await _nodeSink!.WriteAsync(_chunk);
        }
        await _nodeSink!.ReadExactlyAsync(_readBuffer.AsMemory(0, 1));
    }

    internal async Task NodeDownload()
    {
        _chunk[0] = (byte)Megabytes;
        await _nodeTunnel!.WriteAsync(_chunk.AsMemory(0, 1));
        await SinkAsync(_nodeTunnel, Bytes);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _uploadTunnel.DisposeAsync();
        await _downloadTunnel.DisposeAsync();
        await _connection.DisposeAsync();
        await _server.DisposeAsync();
        await _rawClient.DisposeAsync();
        await _rawServer.DisposeAsync();
        if (_node is not null)
        {
            await _nodeConnection!.DisposeAsync();
            _node.StandardInput.Close();
            await _node.WaitForExitAsync();
            Directory.Delete(_nodeDirectory!, recursive: true);
        }
    }

    [Benchmark(Baseline = true, Description = "raw SslStream, client->server")]
    public async Task RawUpload()
    {
        Task sink = SinkAsync(_rawServer, Bytes);
        for (long sent = 0; sent < Bytes; sent += ChunkSize)
        {
            await _rawClient.WriteAsync(_chunk);
        }
        await sink;
    }

    [Benchmark(Description = "HBONE stream, client->server")]
    public async Task HboneUpload()
    {
        // The server sink answers one byte per operation once it has read everything.
        for (long sent = 0; sent < Bytes; sent += ChunkSize)
        {
            await _uploadTunnel.WriteAsync(_chunk);
        }
        await _uploadTunnel.ReadExactlyAsync(_readBuffer.AsMemory(0, 1));
    }

    [Benchmark(Description = "raw SslStream, server->client")]
    public async Task RawDownload()
    {
        Task source = SourceAsync(_rawServer, Bytes);
        await SinkAsync(_rawClient, Bytes);
        await source;
    }

    [Benchmark(Description = "HBONE stream, server->client")]
    public async Task HboneDownload()
    {
        // One byte asks the server for Megabytes MiB.
        _chunk[0] = (byte)Megabytes;
        await _downloadTunnel.WriteAsync(_chunk.AsMemory(0, 1));
        await SinkAsync(_downloadTunnel, Bytes);
    }

    private async Task SinkAsync(Stream stream, long bytes)
    {
        byte[] buffer = new byte[ChunkSize];
        while (bytes > 0)
        {
            int n = await stream.ReadAsync(buffer);
            if (n == 0)
            {
                throw new EndOfStreamException();
            }
            bytes -= n;
        }
    }

    private async Task SourceAsync(Stream stream, long bytes)
    {
        for (long sent = 0; sent < bytes; sent += ChunkSize)
        {
            await stream.WriteAsync(_chunk);
        }
    }

    private static async Task<Stream> ConnectNativeTlsAsync(IPEndPoint endPoint, NativeTlsContext context)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint);
        return await context.ConnectAsync(socket, ServerId);
    }

    private static async Task<SslStream> ConnectTlsAsync(IPEndPoint endPoint, SslClientAuthenticationOptions options)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint);
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
        await tls.AuthenticateAsClientAsync(options);
        return tls;
    }

    /// <summary>
    /// Port 1: sink, one byte back per <see cref="Megabytes"/>. Port 2: for each byte n read, n MiB back.
    /// Port 3: echo (the held-tunnel console).
    /// </summary>
    private sealed class BenchHandler : IHboneRequestHandler
    {
        public ValueTask<HboneAcceptResult> AcceptAsync(HboneRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(HboneAcceptResult.Accept(new Session(request.Authority.Port)));

        private sealed class Session(int port) : IHboneSession
        {
            public async Task RunAsync(TunnelStream tunnel, CancellationToken cancellationToken)
            {
                if (port == 3)
                {
                    // Small and its own: thousands of these are held at once.
                    byte[] echo = new byte[1024];
                    int read;
                    while ((read = await tunnel.ReadAsync(echo, cancellationToken)) > 0)
                    {
                        await tunnel.WriteAsync(echo.AsMemory(0, read), cancellationToken);
                    }
                    await tunnel.CompleteWritesAsync(cancellationToken);
                    return;
                }
                // Pooled: the stream-rate console opens tens of thousands of these.
                byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(ChunkSize);
                try
                {
                    await RunCoreAsync(tunnel, buffer, cancellationToken);
                }
                finally
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                }
            }

            private async Task RunCoreAsync(TunnelStream tunnel, byte[] buffer, CancellationToken cancellationToken)
            {
                if (port == 1)
                {
                    long received = 0;
                    int n;
                    while ((n = await tunnel.ReadAsync(buffer, cancellationToken)) > 0)
                    {
                        received += n;
                        // Every benchmark operation is a whole number of MiB of 64 KiB chunks.
                        if (received % Bytes == 0)
                        {
                            await tunnel.WriteAsync(buffer.AsMemory(0, 1), cancellationToken);
                        }
                    }
                }
                else
                {
                    while (await tunnel.ReadAsync(buffer.AsMemory(0, 1), cancellationToken) > 0)
                    {
                        long bytes = (long)buffer[0] << 20;
                        for (long sent = 0; sent < bytes; sent += ChunkSize)
                        {
                            await tunnel.WriteAsync(buffer.AsMemory(0, ChunkSize), cancellationToken);
                        }
                    }
                }
                await tunnel.CompleteWritesAsync(cancellationToken);
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
