using System.Runtime.CompilerServices;
using Ztunnel.Discovery;
using Ztunnel.Tls;

namespace Ztunnel.Telemetry;

/// <summary>
/// The series found for recent connections, keyed by what their labels are rendered from, so a connection
/// between the same two workloads as one before it skips rendering Istio's 23 labels and the string-keyed
/// lookup in <see cref="TcpMetrics"/> (together ~1% of the daemon's CPU per new connection in the bench's
/// profile).
/// </summary>
/// <remarks>
/// <para>The key is every input of <see cref="TcpLabels.Render"/>: the direction (reporter), the workloads and the
/// service by reference, the principals and the security policy by value, and the response flags. Workloads and
/// services are immutable records that the state store replaces on every change, never edits, so a reference
/// stands for exactly the label values rendered from it. A changed workload is a new reference, a miss, and
/// renders afresh.</para>
/// <para>Bounded whatever churns in the mesh state: direct-mapped, a fixed number of slots, and a key that hashes
/// to a taken slot replaces its entry. Lock-free: a slot holds an immutable entry, replaced whole; a reader sees
/// the old entry or the new one, and a miss only costs the render it would have done anyway.</para>
/// </remarks>
internal sealed class TcpSeriesCache
{
    /// <summary>Enough for the workload pairs a node's pods talk to at once; a power of two.</summary>
    internal const int Slots = 256;

    private readonly Entry?[] _entries = new Entry?[Slots];

    public bool TryGet(in ConnectionPeers peers, string responseFlags, out TcpSeries series)
    {
        Entry? entry = Volatile.Read(ref _entries[SlotOf(peers, responseFlags)]);
        if (entry is not null && entry.Matches(peers, responseFlags))
        {
            series = entry.Series;
            return true;
        }
        series = null!;
        return false;
    }

    public void Add(in ConnectionPeers peers, string responseFlags, TcpSeries series) =>
        Volatile.Write(ref _entries[SlotOf(peers, responseFlags)], new Entry(peers, responseFlags, series));

    private static int SlotOf(in ConnectionPeers peers, string responseFlags)
    {
        int hash = HashCode.Combine(
            RuntimeHelpers.GetHashCode(peers.Source),
            RuntimeHelpers.GetHashCode(peers.Destination),
            RuntimeHelpers.GetHashCode(peers.Service),
            peers.SourcePrincipal,
            peers.DestinationPrincipal,
            peers.IsOutbound,
            RuntimeHelpers.GetHashCode(responseFlags));
        return hash & (Slots - 1);
    }

    private sealed class Entry(in ConnectionPeers peers, string responseFlags, TcpSeries series)
    {
        private readonly bool _outbound = peers.IsOutbound;
        private readonly bool _mutualTls = peers.MutualTls;
        private readonly Workload? _source = peers.Source;
        private readonly Workload? _destination = peers.Destination;
        private readonly Service? _service = peers.Service;
        private readonly SpiffeId? _sourcePrincipal = peers.SourcePrincipal;
        private readonly SpiffeId? _destinationPrincipal = peers.DestinationPrincipal;
        // Flags are compared by reference too: they come from ResponseFlags' constants, and another instance
        // of equal text only misses.
        private readonly string _responseFlags = responseFlags;

        public TcpSeries Series { get; } = series;

        public bool Matches(in ConnectionPeers peers, string responseFlags) =>
            ReferenceEquals(_responseFlags, responseFlags)
            && _outbound == peers.IsOutbound
            && _mutualTls == peers.MutualTls
            && ReferenceEquals(_source, peers.Source)
            && ReferenceEquals(_destination, peers.Destination)
            && ReferenceEquals(_service, peers.Service)
            && Nullable.Equals(_sourcePrincipal, peers.SourcePrincipal)
            && Nullable.Equals(_destinationPrincipal, peers.DestinationPrincipal);
    }
}
