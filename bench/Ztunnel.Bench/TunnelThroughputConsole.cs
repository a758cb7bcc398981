using System.Diagnostics;

namespace Ztunnel.Bench;

/// <summary>
/// `dotnet run -c Release --project bench/Ztunnel.Bench -- throughput [rounds]`: runs the
/// <see cref="TunnelThroughputBenchmarks"/> operations alternately and prints wall-clock MB/s and process
/// CPU per GiB for each. CPU per GiB stays meaningful on a machine shared with other work, where wall time
/// is noisy. Thread-pool work items per GiB count the wake-ups (thread hops) of the data path, and bytes
/// allocated per GiB its garbage; the raw pair shows the floor of both.
/// </summary>
internal static class TunnelThroughputConsole
{
    /// <summary>
    /// Runs every case until tiered compilation has settled (a whole round compiles almost nothing new).
    /// With one warm-up operation per case the JIT was still re-compiling hot methods (instrumented tier,
    /// then tier 1) on its background thread during the measured rounds: a quarter of a core for seconds,
    /// charged mostly to the HBONE cases (many more methods per byte than the raw pair).
    /// </summary>
    private static async Task WarmUpAsync((string Name, Func<Task> Run)[] cases)
    {
        long started = Stopwatch.GetTimestamp();
        const int MaxRounds = 10;
        const long Settled = 5;
        for (int round = 0; round < MaxRounds; round++)
        {
            long compiledBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
            foreach (var (_, run) in cases)
            {
                await run();
            }
            if (System.Runtime.JitInfo.GetCompiledMethodCount() - compiledBefore <= Settled || round == MaxRounds - 1)
            {
                Console.WriteLine($"warm-up: {round + 1} rounds ({Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s) until the JIT settled");
                return;
            }
        }
    }

    public static async Task RunAsync(int rounds)
    {
        var bench = new TunnelThroughputBenchmarks();
        await bench.SetupAsync();
        (string Name, Func<Task> Run)[] cases =
        [
            ("raw SslStream  client->server", bench.RawUpload),
            ("HBONE stream   client->server", bench.HboneUpload),
            ("raw SslStream  server->client", bench.RawDownload),
            ("HBONE stream   server->client", bench.HboneDownload),
        ];
        Totals[] t = await MeasureAsync(cases, rounds);
        double gib = rounds * (double)TunnelThroughputBenchmarks.Bytes / (1 << 30);
        Console.WriteLine($"{rounds} rounds x {TunnelThroughputBenchmarks.Bytes >> 20} MiB, loopback mTLS, one stream");
        for (int i = 0; i < cases.Length; i++)
        {
            Console.WriteLine($"{cases[i].Name}: {gib * 1024 / t[i].Wall,7:0} MiB/s wall   {t[i].Cpu / gib,6:0.00} CPU-s/GiB"
                + $"   {t[i].Items / gib / 1024,5:0}k thread-pool items/GiB   {t[i].Allocated / gib / 1024,6:0} KiB allocated/GiB");
        }
        Console.WriteLine($"HBONE/raw wall throughput: upload {t[0].Wall / t[1].Wall:0.00}x, download {t[2].Wall / t[3].Wall:0.00}x");
        Console.WriteLine($"HBONE/raw CPU efficiency:  upload {t[0].Cpu / t[1].Cpu:0.00}x, download {t[2].Cpu / t[3].Cpu:0.00}x");
        await bench.CleanupAsync();
    }

    /// <summary>
    /// `throughput-node &lt;server.js&gt; [rounds]`: our client against Node's http2 server in another process,
    /// so this process's CPU is our client's alone (plus the raw pair for reference).
    /// </summary>
    public static async Task RunNodeAsync(string script, int rounds)
    {
        var bench = new TunnelThroughputBenchmarks();
        await bench.SetupNodeAsync(script);
        (string Name, Func<Task> Run)[] cases =
        [
            ("raw SslStream (both ends here) client->server", bench.RawUpload),
            ("HBONE client only, client->node              ", bench.NodeUpload),
            ("raw SslStream (both ends here) server->client", bench.RawDownload),
            ("HBONE client only, node->client              ", bench.NodeDownload),
        ];
        Totals[] t = await MeasureAsync(cases, rounds);
        double gib = rounds * (double)TunnelThroughputBenchmarks.Bytes / (1 << 30);
        for (int i = 0; i < cases.Length; i++)
        {
            Console.WriteLine($"{cases[i].Name}: {gib * 1024 / t[i].Wall,7:0} MiB/s wall   {t[i].Cpu / gib,6:0.00} CPU-s/GiB in this process {t[i].Items / gib / 1024,5:0}k thread-pool items/GiB");
        }
        await bench.CleanupAsync();
    }

    private struct Totals
    {
        public double Wall;
        public double Cpu;
        public long Items;
        public long Allocated;
    }

    /// <summary>Warms up, then runs the cases alternately for <paramref name="rounds"/> rounds and sums each one's costs.</summary>
    private static async Task<Totals[]> MeasureAsync((string Name, Func<Task> Run)[] cases, int rounds)
    {
        var totals = new Totals[cases.Length];
        await WarmUpAsync(cases);
        var process = Process.GetCurrentProcess();
        for (int round = 0; round < rounds; round++)
        {
            for (int i = 0; i < cases.Length; i++)
            {
                process.Refresh();
                TimeSpan cpuBefore = process.TotalProcessorTime;
                long itemsBefore = ThreadPool.CompletedWorkItemCount;
                long allocatedBefore = GC.GetTotalAllocatedBytes();
                long start = Stopwatch.GetTimestamp();
                await cases[i].Run();
                totals[i].Wall += Stopwatch.GetElapsedTime(start).TotalSeconds;
                process.Refresh();
                totals[i].Cpu += (process.TotalProcessorTime - cpuBefore).TotalSeconds;
                totals[i].Items += ThreadPool.CompletedWorkItemCount - itemsBefore;
                totals[i].Allocated += GC.GetTotalAllocatedBytes() - allocatedBefore;
            }
        }
        return totals;
    }
}
