using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace Ztunnel.LoadGen;

/// <summary>
/// Ping-pong of <c>--size</c>-byte messages on one connection: each sample is one send plus the full echo
/// back. A warm-up (not recorded) first lets every hop on the path set itself up and JIT-compile.
/// </summary>
internal static class RequestResponseClient
{
    public static int Run(LoadGenArgs options)
    {
        var target = options.EndPoint("target");
        int size = options.Int("size", 64);
        TimeSpan duration = options.Seconds("duration", 5);
        TimeSpan warmup = options.Seconds("warmup", 1);
        byte[] request = new byte[size];
        byte[] response = new byte[size];
        Random.Shared.NextBytes(request);
        var recorder = new LatencyRecorder(4_000_000);

        using Socket socket = SocketIo.Connect(target);
        long warmupEnd = Stopwatch.GetTimestamp() + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < warmupEnd)
        {
            SocketIo.RoundTrip(socket, request, response);
        }
        long start = Stopwatch.GetTimestamp();
        long end = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        long now = start;
        while (now < end)
        {
            SocketIo.RoundTrip(socket, request, response);
            long after = Stopwatch.GetTimestamp();
            recorder.Add(after - now);
            now = after;
        }
        double seconds = (now - start) / (double)Stopwatch.Frequency;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"count={recorder.Count} rate={recorder.Count / seconds:F1} {recorder.Summary()}"));
        return 0;
    }
}
