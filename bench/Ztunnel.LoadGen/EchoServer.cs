using System.Net;
using System.Net.Sockets;

namespace Ztunnel.LoadGen;

/// <summary>
/// Echoes every byte back on every connection until the peer closes. Async, so holding thousands of idle
/// connections costs no threads; run it with DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 so a reply is
/// sent from the epoll thread without a hop through the thread pool.
/// </summary>
internal static class EchoServer
{
    private const int BufferSize = 16 * 1024;

    public static int Run(LoadGenArgs options)
    {
        int port = options.Int("port", 0);
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(new IPEndPoint(IPAddress.Any, port));
        listener.Listen(4096);
        Console.WriteLine($"listening on :{port}");
        AcceptLoopAsync(listener).GetAwaiter().GetResult();
        return 0;
    }

    private static async Task AcceptLoopAsync(Socket listener)
    {
        while (true)
        {
            Socket accepted = await listener.AcceptAsync();
            accepted.NoDelay = true;
            _ = EchoAsync(accepted);
        }
    }

    private static async Task EchoAsync(Socket socket)
    {
        using (socket)
        {
            byte[] buffer = new byte[BufferSize];
            try
            {
                while (true)
                {
                    int read = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None);
                    if (read == 0)
                    {
                        return;
                    }
                    int sent = 0;
                    while (sent < read)
                    {
                        sent += await socket.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None);
                    }
                }
            }
            catch (SocketException)
            {
                // A reset by the client (or its proxy) ends this connection only.
            }
        }
    }
}
