using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Ztunnel.LoadGen;

/// <summary>
/// New connections as fast as <c>--concurrency</c> threads can make them: connect, one <c>--size</c>-byte
/// round trip, close. A sample is connect start to echo received (the close is not waited for).
/// </summary>
internal static class ConnectionRateClient
{
    public static int Run(LoadGenArgs options)
    {
        var target = options.EndPoint("target");
        int size = options.Int("size", 64);
        int concurrency = options.Int("concurrency", 4);
        TimeSpan duration = options.Seconds("duration", 5);
        TimeSpan warmup = options.Seconds("warmup", 1);

        // Warm-up on one thread: JIT, the proxies' first connection (and for pooled tunnels, the pool).
        var warm = new Worker(target, size, 1_000);
        warm.Run(Stopwatch.GetTimestamp() + (long)(warmup.TotalSeconds * Stopwatch.Frequency));

        var workers = new Worker[concurrency];
        var threads = new Thread[concurrency];
        long start = Stopwatch.GetTimestamp();
        long end = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        for (int i = 0; i < concurrency; i++)
        {
            Worker worker = workers[i] = new Worker(target, size, 1_000_000);
            threads[i] = new Thread(() => worker.Run(end)) { IsBackground = true, Name = $"connrate-{i}" };
            threads[i].Start();
        }
        foreach (Thread thread in threads)
        {
            thread.Join();
        }
        double seconds = (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency;
        var all = LatencyRecorder.Merge(workers.Select(w => w.Recorder).ToArray());
        long errors = workers.Sum(w => w.Errors);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"count={all.Count} rate={all.Count / seconds:F1} errors={errors} {all.Summary()}"));
        return 0;
    }

    private sealed class Worker(IPEndPoint target, int size, int capacity)
    {
        private readonly byte[] _request = new byte[size];
        private readonly byte[] _response = new byte[size];

        public LatencyRecorder Recorder { get; } = new(capacity);

        public long Errors { get; private set; }

        public void Run(long endTimestamp)
        {
            long now = Stopwatch.GetTimestamp();
            while (now < endTimestamp)
            {
                try
                {
                    using Socket socket = SocketIo.Connect(target);
                    SocketIo.RoundTrip(socket, _request, _response);
                    long after = Stopwatch.GetTimestamp();
                    Recorder.Add(after - now);
                    now = after;
                }
                catch (Exception e) when (e is SocketException or IOException)
                {
                    // Counted, not fatal: a proxy that drops connections under load shows up as errors.
                    Errors++;
                    now = Stopwatch.GetTimestamp();
                }
            }
        }
    }
}
