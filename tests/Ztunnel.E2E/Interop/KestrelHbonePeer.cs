using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Hbone;
using Ztunnel.Hbone.Server;
using Ztunnel.Tls;
using Ztunnel.Tls.Native;

namespace Ztunnel.E2E.Interop;

/// <summary>
/// Our Kestrel HBONE server on 127.0.0.1:0 with mTLS for <see cref="InteropPki.ServerId"/>. The CONNECT
/// port picks the session: 1 echoes; 2 hashes what it reads and answers "&lt;bytes&gt; &lt;sha256&gt;" after END_STREAM.
/// </summary>
internal sealed class KestrelHbonePeer : IAsyncDisposable
{
    private readonly HboneServer _server;

    private KestrelHbonePeer(HboneServer server, IPEndPoint endPoint)
    {
        _server = server;
        EndPoint = endPoint;
    }

    public IPEndPoint EndPoint { get; }

    public static async Task<KestrelHbonePeer> StartAsync()
    {
        var server = new HboneServer(new Handler(), NullLoggerFactory.Instance);
        await server.StartAsync();
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(128);
        var endPoint = (IPEndPoint)socket.LocalEndPoint!;
        server.Listeners.Add(socket, new HboneListenerInfo("h2client-interop", endPoint, NativeTlsContext.ForServer(InteropPki.Issue(InteropPki.ServerId), InteropPki.Bundle)));
        return new KestrelHbonePeer(server, endPoint);
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private sealed class Handler : IHboneRequestHandler
    {
        public ValueTask<HboneAcceptResult> AcceptAsync(HboneRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(HboneAcceptResult.Accept(new Session(request.Authority.Port)));
    }

    private sealed class Session(int port) : IHboneSession
    {
        public async Task RunAsync(TunnelStream tunnel, CancellationToken cancellationToken)
        {
            byte[] buffer = new byte[64 * 1024];
            int n;
            if (port == 2)
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                long total = 0;
                while ((n = await tunnel.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    hash.AppendData(buffer, 0, n);
                    total += n;
                }
                await tunnel.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"{total} {Convert.ToHexStringLower(hash.GetHashAndReset())}"), cancellationToken);
            }
            else
            {
                while ((n = await tunnel.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    await tunnel.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                }
            }
            await tunnel.CompleteWritesAsync(cancellationToken);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
