using Ztunnel.Hbone;

namespace Ztunnel.Bench;

/// <summary>
/// `dotnet run -c Release --project bench/Ztunnel.Bench -- held [count]`: the managed memory of held idle HBONE
/// tunnels over loopback connections (up to 100 streams each), client and server side in this process. Each
/// tunnel exchanges one small message with an echo session (so both streams have received DATA) and then waits
/// idle: the client with a zero-byte read pending (as the relay waits), the server session in a read. The
/// connections are opened first, so the number is the tunnels' own: managed bytes per tunnel.
/// </summary>
internal static class HeldTunnelsConsole
{
    private const int StreamsPerConnection = 100;

    public static async Task RunAsync(int count)
    {
        var bench = new TunnelThroughputBenchmarks();
        await bench.SetupAsync();
        var connections = new List<Http2ClientConnection>();
        for (int i = 0; i < (count + StreamsPerConnection - 1) / StreamsPerConnection; i++)
        {
            connections.Add(await bench.OpenConnectionAsync());
        }
        // Warm-up on the bench's own connection: JIT, pools and that connection's buffers settle.
        var (warmTunnels, warmWaits) = await HoldAsync([bench.Connection], 50);

        long before = GC.GetTotalMemory(forceFullCollection: true);
        var (tunnels, waits) = await HoldAsync(connections, count);
        long after = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine($"{count} held idle tunnels on {connections.Count} HBONE connections (loopback mTLS), client + server streams");
        Console.WriteLine($"  {(after - before) / (double)count,8:0} managed bytes per tunnel");
        GC.KeepAlive(tunnels);
        GC.KeepAlive(waits);
        GC.KeepAlive(warmTunnels);
        GC.KeepAlive(warmWaits);
        foreach (var connection in connections)
        {
            await connection.DisposeAsync();
        }
        await bench.CleanupAsync();
    }

    private static async Task<(List<TunnelStream>, List<Task<int>>)> HoldAsync(List<Http2ClientConnection> connections, int count)
    {
        var tunnels = new List<TunnelStream>(count);
        var waits = new List<Task<int>>(count);
        byte[] message = new byte[100];
        byte[] reply = new byte[100];
        for (int i = 0; i < count; i++)
        {
            var tunnel = await connections[i / StreamsPerConnection].OpenConnectAsync("10.0.0.1:3", null, CancellationToken.None);
            await tunnel.WriteAsync(message);
            await tunnel.ReadExactlyAsync(reply);
            tunnels.Add(tunnel);
            waits.Add(tunnel.ReadAsync(Memory<byte>.Empty).AsTask());
        }
        return (tunnels, waits);
    }
}
