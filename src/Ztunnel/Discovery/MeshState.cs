using System.Net;
using Ztunnel.Authorization;

namespace Ztunnel.Discovery;

/// <summary>
/// An immutable snapshot of everything the daemon knows about the mesh: workloads, services and
/// authorization policies, indexed for the per-connection lookups of the proxy paths. A new snapshot
/// is built and swapped in whole (<see cref="StateStore"/>), so readers never see a half-applied update.
/// </summary>
internal sealed class MeshState
{
    // Plain dictionaries, never written after the constructor (safe for concurrent readers). Not
    // FrozenDictionary: that alone loaded System.Collections.Immutable (~1 MiB resident per daemon) for a
    // lookup that is a few nanoseconds faster per connection.
    private readonly Dictionary<IPAddress, Workload> _workloadsByAddress;
    private readonly Dictionary<string, Workload> _workloadsByUid;
    private readonly Dictionary<IPAddress, Service> _servicesByVip;
    private readonly Dictionary<string, Service[]> _servicesByWorkloadUid;

    public static MeshState Empty { get; } = new([], [], PolicySet.Empty);

    /// <summary>
    /// Builds the indexes. The inputs must already be valid (see <see cref="LocalConfigLoader"/>):
    /// duplicate uids, addresses or VIPs throw <see cref="ArgumentException"/>.
    /// </summary>
    public MeshState(IReadOnlyList<Workload> workloads, IReadOnlyList<Service> services, PolicySet policies)
    {
        ArgumentNullException.ThrowIfNull(workloads);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(policies);
        Workloads = workloads;
        Services = services;
        Policies = policies;

        var byUid = new Dictionary<string, Workload>(StringComparer.Ordinal);
        var byAddress = new Dictionary<IPAddress, Workload>();
        foreach (var w in workloads)
        {
            if (!byUid.TryAdd(w.Uid, w))
            {
                throw new ArgumentException($"workload uid '{w.Uid}' appears twice ({byUid[w.Uid]} and {w})", nameof(workloads));
            }
            foreach (var ip in w.Addresses)
            {
                if (!byAddress.TryAdd(Normalize(ip), w))
                {
                    throw new ArgumentException($"address {ip} belongs to two workloads ({byAddress[Normalize(ip)]} and {w})", nameof(workloads));
                }
            }
        }

        var byVip = new Dictionary<IPAddress, Service>();
        var byWorkload = new Dictionary<string, List<Service>>(StringComparer.Ordinal);
        foreach (var s in services)
        {
            foreach (var vip in s.Vips)
            {
                if (!byVip.TryAdd(Normalize(vip), s))
                {
                    throw new ArgumentException($"VIP {vip} belongs to two services ({byVip[Normalize(vip)]} and {s})", nameof(services));
                }
            }
            foreach (var e in s.Endpoints)
            {
                if (!byWorkload.TryGetValue(e.WorkloadUid, out var list))
                {
                    byWorkload[e.WorkloadUid] = list = [];
                }
                if (!list.Contains(s))
                {
                    list.Add(s);
                }
            }
        }

        _workloadsByUid = byUid;
        _workloadsByAddress = byAddress;
        _servicesByVip = byVip;
        _servicesByWorkloadUid = new Dictionary<string, Service[]>(byWorkload.Count, StringComparer.Ordinal);
        foreach (var (uid, list) in byWorkload)
        {
            _servicesByWorkloadUid[uid] = [.. list];
        }
    }

    public IReadOnlyList<Workload> Workloads { get; }
    public IReadOnlyList<Service> Services { get; }
    public PolicySet Policies { get; }

    /// <summary>The workload that owns <paramref name="address"/> (IPv4-mapped IPv6 is treated as IPv4).</summary>
    public Workload? FindWorkload(IPAddress address) =>
        _workloadsByAddress.GetValueOrDefault(Normalize(address));

    public Workload? FindWorkloadByUid(string uid) => _workloadsByUid.GetValueOrDefault(uid);

    /// <summary>The service with virtual IP <paramref name="vip"/>, whatever the port.</summary>
    public Service? FindService(IPAddress vip) => _servicesByVip.GetValueOrDefault(Normalize(vip));

    /// <summary>
    /// The service with virtual IP <paramref name="vip"/> that exposes <paramref name="port"/>, with that
    /// port's entry; null when the VIP is unknown or the service does not expose the port.
    /// </summary>
    public (Service Service, ServicePort Port)? FindService(IPAddress vip, int port)
    {
        var service = FindService(vip);
        if (service?.FindPort(port) is ServicePort p)
        {
            return (service, p);
        }
        return null;
    }

    /// <summary>The services that list <paramref name="workloadUid"/> as an endpoint (for telemetry labels).</summary>
    public IReadOnlyList<Service> ServicesOf(string workloadUid) =>
        _servicesByWorkloadUid.TryGetValue(workloadUid, out var list) ? list : [];

    /// <summary>The workloads scheduled on <paramref name="node"/> (the ones this daemon serves).</summary>
    public IReadOnlyList<Workload> WorkloadsOnNode(string node)
    {
        var result = new List<Workload>();
        foreach (var w in Workloads)
        {
            if (w.Node == node)
            {
                result.Add(w);
            }
        }
        return result;
    }

    // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; the state is keyed by the plain IPv4 form.
    internal static IPAddress Normalize(IPAddress address) =>
        address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
