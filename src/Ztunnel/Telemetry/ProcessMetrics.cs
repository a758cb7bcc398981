using System.Diagnostics;

namespace Ztunnel.Telemetry;

/// <summary>
/// The process: the standard Prometheus client names (process_*) read from /proc/self, and the .NET runtime's
/// GC (dotnet_*, as prometheus-net names them), plus istio_build. Read at scrape time only.
/// </summary>
internal sealed class ProcessMetrics : IMetricsCollector
{
    public static readonly MetricFamily Build = new("istio_build", "Istio component build info", MetricType.Gauge);
    public static readonly MetricFamily CpuSeconds = new("process_cpu_seconds_total", "Total user and system CPU time spent in seconds", MetricType.Counter);
    public static readonly MetricFamily OpenFds = new("process_open_fds", "Number of open file descriptors", MetricType.Gauge);
    public static readonly MetricFamily MaxFds = new("process_max_fds", "Maximum number of open file descriptors", MetricType.Gauge);
    public static readonly MetricFamily Resident = new("process_resident_memory_bytes", "Resident memory size in bytes", MetricType.Gauge);
    public static readonly MetricFamily Virtual = new("process_virtual_memory_bytes", "Virtual memory size in bytes", MetricType.Gauge);
    public static readonly MetricFamily StartTime = new("process_start_time_seconds", "Start time of the process since unix epoch in seconds", MetricType.Gauge);
    public static readonly MetricFamily Threads = new("process_threads", "Number of OS threads in the process", MetricType.Gauge);
    public static readonly MetricFamily GcCollections = new("dotnet_collection_count_total", "GC collection count, by generation", MetricType.Counter);
    public static readonly MetricFamily GcHeap = new("dotnet_total_memory_bytes", "Total known allocated memory (managed heap)", MetricType.Gauge);
    public static readonly MetricFamily GcAllocated = new("dotnet_allocated_bytes_total", "Bytes allocated on the managed heap since start", MetricType.Counter);
    public static readonly MetricFamily GcPause = new("dotnet_gc_pause_seconds_total", "Total time the GC paused the process", MetricType.Counter);
    // The JIT keeps compiling (tier-0 -> optimized tier-1) for the first seconds of load: its CPU shows up as
    // daemon CPU, so a benchmark or a capacity test should wait until these stop growing.
    public static readonly MetricFamily JitMethods = new("dotnet_jit_methods_compiled_total", "Methods compiled by the JIT since start (every tier)", MetricType.Counter);
    public static readonly MetricFamily JitTime = new("dotnet_jit_compilation_seconds_total", "Time spent in the JIT compiling methods since start", MetricType.Counter);
    // The data path runs socket completions on the epoll thread; every work item queued to the pool is a
    // hand-off (a wake-up, often a context switch). Items per relayed MB or per connection show how many.
    public static readonly MetricFamily PoolItems = new("dotnet_threadpool_completed_items_total", "Work items the .NET thread pool has completed since start", MetricType.Counter);
    public static readonly MetricFamily PoolThreads = new("dotnet_threadpool_threads", "Thread-pool worker threads that exist now", MetricType.Gauge);
    public static readonly MetricFamily PoolQueued = new("dotnet_threadpool_queued_items", "Work items waiting in the thread pool's queues now", MetricType.Gauge);

    private static readonly LabelSet[] Generations = [LabelSet.Of(("generation", "0")), LabelSet.Of(("generation", "1")), LabelSet.Of(("generation", "2"))];

    private readonly LabelSet _build;
    private readonly double _startTime;
    private readonly long _pageSize = Environment.SystemPageSize;

    public ProcessMetrics(string version)
    {
        _build = LabelSet.Of(("component", "ztunnel"), ("tag", version));
        using var self = Process.GetCurrentProcess();
        _startTime = new DateTimeOffset(self.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0;
    }

    public void Collect(PrometheusWriter writer)
    {
        writer.WriteHeader(Build);
        writer.WriteSample(Build, _build, 1);

        using (var self = Process.GetCurrentProcess())
        {
            writer.Write(CpuSeconds, self.TotalProcessorTime.TotalSeconds);
            writer.Write(Threads, self.Threads.Count);
        }
        if (CountOpenFds() is { } fds)
        {
            writer.Write(OpenFds, fds);
        }
        if (ReadMaxFds() is { } max)
        {
            writer.Write(MaxFds, max);
        }
        if (ReadStatm() is ({ } size, { } resident))
        {
            writer.Write(Virtual, size * _pageSize);
            writer.Write(Resident, resident * _pageSize);
        }
        writer.Write(StartTime, _startTime);

        writer.WriteHeader(GcCollections);
        for (int generation = 0; generation < Generations.Length; generation++)
        {
            writer.WriteSample(GcCollections, Generations[generation], GC.CollectionCount(generation));
        }
        writer.Write(GcHeap, GC.GetTotalMemory(forceFullCollection: false));
        writer.Write(GcAllocated, GC.GetTotalAllocatedBytes(precise: false));
        writer.Write(GcPause, GC.GetTotalPauseDuration().TotalSeconds);
        writer.Write(JitMethods, System.Runtime.JitInfo.GetCompiledMethodCount());
        writer.Write(JitTime, System.Runtime.JitInfo.GetCompilationTime().TotalSeconds);
        writer.Write(PoolItems, ThreadPool.CompletedWorkItemCount);
        writer.Write(PoolThreads, ThreadPool.ThreadCount);
        writer.Write(PoolQueued, ThreadPool.PendingWorkItemCount);
    }

    private static long? CountOpenFds()
    {
        try
        {
            long count = 0;
            foreach (string _ in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
            {
                count++;
            }
            return count;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null; // Not Linux, or /proc not mounted: the metric is left out.
        }
    }

    // /proc/self/limits: "Max open files            1048576              1048576              files"
    private static long? ReadMaxFds()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/limits"))
            {
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    string[] parts = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return parts.Length > 0 && long.TryParse(parts[0], out long soft) ? soft : null;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }

    // /proc/self/statm: size resident shared text lib data dt, in pages.
    private static (long? Size, long? Resident) ReadStatm()
    {
        try
        {
            string[] fields = File.ReadAllText("/proc/self/statm").Split(' ');
            return fields.Length >= 2 && long.TryParse(fields[0], out long size) && long.TryParse(fields[1], out long resident)
                ? (size, resident)
                : (null, null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (null, null);
        }
    }
}
