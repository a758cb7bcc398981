using System.Diagnostics;

namespace Ztunnel.Bench;

/// <summary>
/// `dotnet run -c Release --project bench/Ztunnel.Bench -- streams [count]`: the per-tunnel cost of HBONE on
/// one pooled connection (what a new proxied TCP connection costs once the HTTP/2 connection exists):
/// CONNECT, 200, END_STREAM both ways, with 4 tunnels in flight. Prints tunnels/s, process CPU, thread-pool
/// work items (wake-ups) and managed allocation per tunnel, client and server together.
/// </summary>
internal static class StreamRateConsole
{
    private const int Concurrency = 4;

    public static async Task RunAsync(int count)
    {
        var bench = new TunnelThroughputBenchmarks();
        await bench.SetupAsync();
        await RunRoundAsync(bench, count / 4); // warm-up: JIT tiers settle
        var process = Process.GetCurrentProcess();
        TimeSpan cpuBefore = process.TotalProcessorTime;
        long itemsBefore = ThreadPool.CompletedWorkItemCount;
        long allocatedBefore = GC.GetTotalAllocatedBytes();
        long start = Stopwatch.GetTimestamp();
        await RunRoundAsync(bench, count);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        process.Refresh();
        double cpu = (process.TotalProcessorTime - cpuBefore).TotalSeconds;
        Console.WriteLine($"{count} tunnels, {Concurrency} in flight, one HBONE connection (loopback mTLS)");
        Console.WriteLine($"  {count / seconds,8:0} tunnels/s   {cpu * 1e6 / count,6:0} CPU-us/tunnel"
            + $"   {(ThreadPool.CompletedWorkItemCount - itemsBefore) / (double)count,5:0.0} thread-pool items/tunnel"
            + $"   {(GC.GetTotalAllocatedBytes() - allocatedBefore) / 1024.0 / count,5:0.0} KiB allocated/tunnel");
        await bench.CleanupAsync();
    }

    private static async Task RunRoundAsync(TunnelThroughputBenchmarks bench, int count)
    {
        int remaining = count;
        var workers = new Task[Concurrency];
        for (int i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(async () =>
            {
                byte[] buffer = new byte[1024];
                while (Interlocked.Decrement(ref remaining) >= 0)
                {
                    await using var tunnel = await bench.Connection.OpenConnectAsync("10.0.0.1:2", null, CancellationToken.None);
                    await tunnel.CompleteWritesAsync();
                    while (await tunnel.ReadAsync(buffer) > 0)
                    {
                    }
                }
            });
        }
        await Task.WhenAll(workers);
    }
}
