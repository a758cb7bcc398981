using System.Net;

namespace Ztunnel.Discovery;

/// <summary>
/// Chooses the backend for a connection to a service VIP (DESIGN §5): a healthy endpoint, at random,
/// weighted by <see cref="ServiceEndpoint.Weight"/>. No allocation besides the result.
/// </summary>
internal sealed class ServiceEndpointPicker
{
    private readonly Random _random;

    /// <param name="random">
    /// Source of randomness; defaults to <see cref="Random.Shared"/> (thread-safe). A seeded
    /// <see cref="Random"/> is not thread-safe: use one only from a single thread (tests).
    /// </param>
    public ServiceEndpointPicker(Random? random = null)
    {
        _random = random ?? Random.Shared;
    }

    /// <summary>
    /// Picks a healthy endpoint of <paramref name="service"/> for a connection to <paramref name="servicePort"/>.
    /// Returns null when the service does not expose the port or no endpoint is healthy and resolvable
    /// (its workload known in <paramref name="state"/> with an address): the caller fails the connection.
    /// </summary>
    public ServiceDestination? Pick(MeshState state, Service service, int servicePort)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(service);
        if (service.FindPort(servicePort) is not ServicePort port)
        {
            return null;
        }

        long total = 0;
        foreach (var e in service.Endpoints)
        {
            if (Usable(state, e))
            {
                total += e.Weight;
            }
        }
        if (total == 0)
        {
            return null;
        }

        long ticket = _random.NextInt64(total);
        foreach (var e in service.Endpoints)
        {
            if (!Usable(state, e))
            {
                continue;
            }
            ticket -= e.Weight;
            if (ticket < 0)
            {
                var workload = state.FindWorkloadByUid(e.WorkloadUid)!;
                var address = e.TargetAddress ?? workload.Addresses[0];
                // targetPort 0 means "same as the service port", as in Kubernetes when it is omitted.
                int targetPort = port.TargetPort == 0 ? port.Port : port.TargetPort;
                return new ServiceDestination(service, e, workload, new IPEndPoint(address, targetPort));
            }
        }
        return null; // unreachable: ticket < total
    }

    private static bool Usable(MeshState state, ServiceEndpoint e) =>
        e.Healthy && e.Weight > 0 && state.FindWorkloadByUid(e.WorkloadUid) is { } w && (e.TargetAddress is not null || w.Addresses.Count > 0);
}
