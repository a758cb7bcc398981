using System.Net;
using Ztunnel.Hbone;
using Ztunnel.Tls;

namespace Ztunnel.Proxy;

/// <summary>Opens HBONE tunnels on behalf of a local pod (pooled connections, the pod's certificate, its netns).</summary>
internal interface IOutboundTunnels
{
    /// <summary>
    /// A CONNECT to <paramref name="target"/> (the destination pod's IP and target port) through
    /// <c>target-ip:15008</c>, authenticated as <paramref name="source"/> and expecting the peer to be
    /// <paramref name="destinationIdentity"/>. Throws <see cref="HboneConnectException"/> for a non-200 answer.
    /// </summary>
    Task<TunnelStream> OpenAsync(EnrolledPod source, SpiffeId destinationIdentity, IPEndPoint target, IPEndPoint client, CancellationToken cancellationToken);

    /// <summary>Drops the pooled connections of a pod that left the node.</summary>
    ValueTask ReleaseAsync(EnrolledPod source);
}
