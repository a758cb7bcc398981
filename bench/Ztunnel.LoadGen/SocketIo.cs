using System.Net;
using System.Net.Sockets;

namespace Ztunnel.LoadGen;

/// <summary>Blocking socket helpers for the client loops (one thread per connection: no async hops in the latency).</summary>
internal static class SocketIo
{
    public static Socket Connect(IPEndPoint target)
    {
        var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Connect(target);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends <paramref name="request"/> and reads exactly as many bytes back (the echo).</summary>
    public static void RoundTrip(Socket socket, byte[] request, byte[] response)
    {
        int sent = 0;
        while (sent < request.Length)
        {
            sent += socket.Send(request, sent, request.Length - sent, SocketFlags.None);
        }
        int received = 0;
        while (received < response.Length)
        {
            int n = socket.Receive(response, received, response.Length - received, SocketFlags.None);
            if (n == 0)
            {
                throw new IOException($"the peer closed the connection after {received} of {response.Length} echoed bytes");
            }
            received += n;
        }
    }
}
