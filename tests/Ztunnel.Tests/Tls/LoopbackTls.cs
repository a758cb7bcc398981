using System.Net;
using System.Net.Security;
using System.Net.Sockets;

namespace Ztunnel.Tests.Tls;

/// <summary>
/// Runs a real TLS handshake between two SslStreams over a real loopback TCP connection. Each side behaves
/// like production code: on failure it disposes its stream (closing the socket) so the peer is not left hanging.
/// </summary>
internal static class LoopbackTls
{
    public static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    public static async Task<(Socket Client, Socket Server)> ConnectAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Task<Socket> accept = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!).WaitAsync(HangGuard);
        Socket server = await accept.WaitAsync(HangGuard);
        return (client, server);
    }

    /// <summary>
    /// Handshakes, then has each side send one byte and read the peer's byte: in TLS 1.3 the client finishes
    /// before the server has checked its certificate, so a rejected client only learns of it on its first read.
    /// </summary>
    public static async Task<Outcome> RunAsync(SslClientAuthenticationOptions clientOptions, SslServerAuthenticationOptions serverOptions)
    {
        (Socket clientSocket, Socket serverSocket) = await ConnectAsync();
        var client = new SslStream(new NetworkStream(clientSocket, ownsSocket: true));
        var server = new SslStream(new NetworkStream(serverSocket, ownsSocket: true));
        Task<Side> clientSide = RunSideAsync(client, s => s.AuthenticateAsClientAsync(clientOptions));
        Task<Side> serverSide = RunSideAsync(server, s => s.AuthenticateAsServerAsync(serverOptions));
        Side[] sides = await Task.WhenAll(clientSide, serverSide).WaitAsync(HangGuard);
        return new Outcome(sides[0], sides[1], client, server);
    }

    private static async Task<Side> RunSideAsync(SslStream stream, Func<SslStream, Task> authenticate)
    {
        var side = new Side();
        try
        {
            await authenticate(stream);
            side.Authenticated = true;
            await stream.WriteAsync(new byte[] { 42 });
            await stream.FlushAsync();
            byte[] buffer = new byte[1];
            int read = await stream.ReadAsync(buffer);
            side.Exchanged = read == 1 && buffer[0] == 42;
            if (!side.Exchanged)
            {
                side.Closed = true;
            }
        }
        catch (Exception e)
        {
            side.Error = e;
            await stream.DisposeAsync();
        }
        return side;
    }

    internal sealed class Side
    {
        public bool Authenticated { get; set; }
        public bool Exchanged { get; set; }
        public bool Closed { get; set; }
        public Exception? Error { get; set; }

        /// <summary>The user-visible outcome: the connection did not work (error or closed by the peer).</summary>
        public bool Failed => Error is not null || Closed;
    }

    internal sealed class Outcome(Side client, Side server, SslStream clientStream, SslStream serverStream) : IDisposable
    {
        public Side Client { get; } = client;
        public Side Server { get; } = server;
        public SslStream ClientStream { get; } = clientStream;
        public SslStream ServerStream { get; } = serverStream;

        public void Dispose()
        {
            ClientStream.Dispose();
            ServerStream.Dispose();
        }
    }
}
