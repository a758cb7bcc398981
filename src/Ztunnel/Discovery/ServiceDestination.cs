using System.Net;

namespace Ztunnel.Discovery;

/// <summary>Where a connection to a service goes: the chosen endpoint, its workload and the address to dial.</summary>
internal sealed record ServiceDestination(Service Service, ServiceEndpoint Endpoint, Workload Workload, IPEndPoint Target);
