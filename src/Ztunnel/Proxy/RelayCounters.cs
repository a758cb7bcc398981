namespace Ztunnel.Proxy;

/// <summary>
/// Bytes moved by one relayed connection, updated per chunk by the relay and read at any time by
/// telemetry (so dashboards see long connections while they run, not only when they close).
/// Plain fields with Interlocked: no allocation, no lock on the data path.
/// </summary>
/// <remarks>
/// Every relay's chunks are also counted once for the whole process (<see cref="ChunksRelayed"/>): that count is
/// what tells Daemon.MemoryTrimmer whether traffic flows. HBONE keepalives, SETTINGS and the like move no chunk,
/// so hundreds of idle pooled connections still leave the daemon quiet.
/// </remarks>
internal sealed class RelayCounters
{
    private static long s_chunksRelayed;

    private long _downstreamToUpstream;
    private long _upstreamToDownstream;

    /// <summary>Chunks (one read and its write, or one direct send) relayed by every connection since start.</summary>
    public static long ChunksRelayed => Interlocked.Read(ref s_chunksRelayed);

    /// <summary>Bytes copied from the accepting side (the client) to the connecting side (the server).</summary>
    public long ClientToServer => Interlocked.Read(ref _downstreamToUpstream);

    /// <summary>Bytes copied from the connecting side (the server) back to the client.</summary>
    public long ServerToClient => Interlocked.Read(ref _upstreamToDownstream);

    public void AddClientToServer(int bytes)
    {
        Interlocked.Add(ref _downstreamToUpstream, bytes);
        Interlocked.Increment(ref s_chunksRelayed);
    }

    public void AddServerToClient(int bytes)
    {
        Interlocked.Add(ref _upstreamToDownstream, bytes);
        Interlocked.Increment(ref s_chunksRelayed);
    }
}
