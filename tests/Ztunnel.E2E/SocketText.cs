using System.Net.Sockets;
using System.Text;

namespace Ztunnel.E2E;

/// <summary>Line-at-a-time text over a raw socket, for test conversations.</summary>
public static class SocketText
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    public static async Task WriteLineAsync(Socket socket, string line)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(line + "\n");
        int sent = 0;
        while (sent < bytes.Length)
        {
            sent += await socket.SendAsync(bytes.AsMemory(sent)).AsTask().WaitAsync(Guard);
        }
    }

    /// <summary>Reads up to and without the next '\n'; throws if the peer closes first.</summary>
    public static async Task<string> ReadLineAsync(Socket socket)
    {
        var line = new StringBuilder();
        byte[] one = new byte[1];
        while (true)
        {
            int read = await socket.ReceiveAsync(one.AsMemory()).AsTask().WaitAsync(Guard);
            if (read == 0)
            {
                throw new IOException($"connection closed after '{line}'");
            }
            if (one[0] == '\n')
            {
                return line.ToString();
            }
            line.Append((char)one[0]);
        }
    }
}
