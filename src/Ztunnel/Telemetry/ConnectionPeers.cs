using System.Net;
using Ztunnel.Discovery;
using Ztunnel.Proxy;
using Ztunnel.Tls;

namespace Ztunnel.Telemetry;

/// <summary>
/// Both ends of a connection as telemetry reports them, resolved once from the description and the state
/// snapshot. Follows Istio's ztunnel: reporter "source" for connections we send out, "destination" for those
/// we receive; the source principal only when the connection is mutual TLS (our own certificate outbound, the
/// verified peer certificate inbound), never from a claim.
/// </summary>
internal readonly struct ConnectionPeers
{
    public ConnectionPeers(ConnectionDescription description, Workload? source, Workload? destination, Service? service, SpiffeId? destinationPrincipal)
    {
        Description = description;
        Source = source;
        Destination = destination;
        Service = service;
        // Outbound, the proxy sets a destination identity only when it dials HBONE.
        MutualTls = description.Direction == ConnectionDirection.InboundHbone
            || (description.Direction == ConnectionDirection.Outbound && description.DestinationIdentity is not null);
        SourcePrincipal = MutualTls ? description.SourceIdentity : null;
        DestinationPrincipal = destinationPrincipal;
    }

    public ConnectionDescription Description { get; }
    public Workload? Source { get; }
    public Workload? Destination { get; }
    public Service? Service { get; }
    public bool MutualTls { get; }
    public SpiffeId? SourcePrincipal { get; }
    public SpiffeId? DestinationPrincipal { get; }

    public bool IsOutbound => Description.Direction == ConnectionDirection.Outbound;
    public string Reporter => IsOutbound ? "source" : "destination";
    public string SecurityPolicy => MutualTls ? "mutual_tls" : "unknown";

    public static ConnectionPeers Resolve(ConnectionDescription description, MeshState state, string trustDomain)
    {
        Workload? source = Find(state, description.SourceWorkloadUid, description.Source.Address);
        Workload? destination = Find(state, description.DestinationWorkloadUid, description.Destination.Address);
        Service? service = description.DestinationService;
        if (service is null && destination is not null && description.Direction != ConnectionDirection.Outbound)
        {
            service = GuessInboundService(state, destination, description.Destination.Port);
        }
        // As Istio: the destination workload's identity whether or not the connection was mutual TLS.
        SpiffeId? destinationPrincipal = description.DestinationIdentity ?? destination?.GetIdentity(trustDomain);
        return new ConnectionPeers(description, source, destination, service, destinationPrincipal);
    }

    private static Workload? Find(MeshState state, string? uid, IPAddress address) =>
        (uid is null ? null : state.FindWorkloadByUid(uid)) ?? state.FindWorkload(address);

    // Inbound, the client's VIP is not known any more: like Istio's ztunnel, take the service of the workload
    // that forwards to the port the connection arrived on.
    private static Service? GuessInboundService(MeshState state, Workload destination, int port)
    {
        IReadOnlyList<Service> services = state.ServicesOf(destination.Uid);
        foreach (Service service in services)
        {
            foreach (ServicePort servicePort in service.Ports)
            {
                if (servicePort.TargetPort == port)
                {
                    return service;
                }
            }
        }
        return null;
    }
}
