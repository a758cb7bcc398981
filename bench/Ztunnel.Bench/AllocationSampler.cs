using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Ztunnel.Bench;

/// <summary>
/// Samples the runtime's GCAllocationTick events (one per ~100 KiB allocated) by type and allocating
/// stack-less type name, so `throughput --alloc` can say what the data path still allocates.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, long> _bytesByType = new();

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName is not "GCAllocationTick_V4" || eventData.Payload is null)
        {
            return;
        }
        int nameIndex = eventData.PayloadNames!.IndexOf("TypeName");
        int sizeIndex = eventData.PayloadNames.IndexOf("AllocationAmount64");
        if (nameIndex < 0 || sizeIndex < 0)
        {
            return;
        }
        string type = eventData.Payload[nameIndex] as string ?? "?";
        long bytes = Convert.ToInt64(eventData.Payload[sizeIndex], System.Globalization.CultureInfo.InvariantCulture);
        _bytesByType.AddOrUpdate(type, bytes, (_, total) => total + bytes);
    }

    public void Print(int top)
    {
        foreach (var (type, bytes) in _bytesByType.OrderByDescending(p => p.Value).Take(top))
        {
            Console.WriteLine($"  {bytes >> 10,10} KiB  {type}");
        }
    }
}
