namespace Ztunnel.Proxy;

/// <summary>
/// Bytes moved by one relayed connection, updated per chunk by the relay and read at any time by
/// telemetry (so dashboards see long connections while they run, not only when they close).
/// Plain fields with Interlocked: no allocation, no lock on the data path.
/// </summary>
internal sealed class RelayCounters
{
    private long _downstreamToUpstream;
    private long _upstreamToDownstream;

    /// <summary>Bytes copied from the accepting side (the client) to the connecting side (the server).</summary>
    public long ClientToServer => Interlocked.Read(ref _downstreamToUpstream);

    /// <summary>Bytes copied from the connecting side (the server) back to the client.</summary>
    public long ServerToClient => Interlocked.Read(ref _upstreamToDownstream);

    public void AddClientToServer(int bytes) => Interlocked.Add(ref _downstreamToUpstream, bytes);

    public void AddServerToClient(int bytes) => Interlocked.Add(ref _upstreamToDownstream, bytes);
}
