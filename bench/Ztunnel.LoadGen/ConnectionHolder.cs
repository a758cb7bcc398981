using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Ztunnel.LoadGen;

/// <summary>
/// Opens <c>--count</c> connections (each proven end to end by one round trip), prints <c>held=N</c>, and
/// keeps them idle until stdin closes; the bench reads the proxies' memory in between.
/// </summary>
internal static class ConnectionHolder
{
    public static int Run(LoadGenArgs options)
    {
        var target = options.EndPoint("target");
        int count = options.Int("count", 2000);
        int size = options.Int("size", 64);
        int concurrency = options.Int("concurrency", 16);
        var sockets = new Socket?[count];
        long errors = 0;
        int next = -1;
        var threads = new Thread[concurrency];
        for (int t = 0; t < concurrency; t++)
        {
            threads[t] = new Thread(() =>
            {
                byte[] request = new byte[size];
                byte[] response = new byte[size];
                int i;
                while ((i = Interlocked.Increment(ref next)) < count)
                {
                    sockets[i] = Open(target, request, response, ref errors);
                }
            }) { IsBackground = true };
            threads[t].Start();
        }
        foreach (Thread thread in threads)
        {
            thread.Join();
        }
        int held = sockets.Count(s => s is not null);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"held={held} errors={Interlocked.Read(ref errors)}"));
        Console.Out.Flush();
        // Hold until the bench closes our stdin (it has read the proxies' memory by then).
        while (Console.In.Read() >= 0)
        {
        }
        foreach (Socket? socket in sockets)
        {
            socket?.Dispose();
        }
        return 0;
    }

    private static Socket? Open(IPEndPoint target, byte[] request, byte[] response, ref long errors)
    {
        try
        {
            Socket socket = SocketIo.Connect(target);
            try
            {
                SocketIo.RoundTrip(socket, request, response);
                return socket;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            Interlocked.Increment(ref errors);
            return null;
        }
    }
}
