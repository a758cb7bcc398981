using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Ztunnel.Capture;
using Ztunnel.Discovery;
using Ztunnel.Hbone;

namespace Ztunnel.Proxy;

/// <summary>
/// The outbound path (DESIGN §5): a connection an app opened, captured on 15001 in its pod. A service
/// VIP becomes one healthy endpoint; a meshed destination is reached over HBONE with the pod's identity;
/// anything else is passed through as plain TCP from the pod's netns (marked, so not captured again).
/// </summary>
internal sealed class OutboundProxy
{
    private readonly ProxyContext _context;
    private readonly IOutboundTunnels _tunnels;
    private readonly ILogger _logger;

    public OutboundProxy(ProxyContext context, IOutboundTunnels tunnels)
    {
        _context = context;
        _tunnels = tunnels;
        _logger = context.LoggerFactory.CreateLogger<OutboundProxy>();
    }

    public Task AcceptLoopAsync(EnrolledPod pod, Socket listener, CancellationToken stopping) =>
        PodSockets.AcceptLoopAsync(listener, accepted => HandleAsync(pod, accepted, pod.Removed), ex => ProxyLog.AcceptFailed(_logger, pod, ex), stopping);

    /// <summary>Handles one accepted connection; completes once it relays (the relay runs on) or was refused.</summary>
    public async Task HandleAsync(EnrolledPod pod, Socket accepted, CancellationToken stopping)
    {
        var client = new SocketTunnelStream(accepted);
        IPEndPoint original;
        try
        {
            original = SocketOptions.GetOriginalDestination(accepted);
        }
        catch (Exception ex) when (ex is CaptureException or SocketException)
        {
            ProxyLog.NoOriginalDestination(_logger, pod, ex.Message);
            client.Reset();
            return;
        }
        IPEndPoint source = PodSockets.Unmapped(accepted.RemoteEndPoint);
        if (InpodConfig.IsDaemonPort(original.Port))
        {
            ProxyLog.SelfCall(_logger, pod, original);
            client.Reset();
            return;
        }

        MeshState state = _context.State.Current;
        if (!TryResolve(pod, state, original, out IPEndPoint target, out Workload? workload, out Service? service, out string? failure))
        {
            if (failure is not null)
            {
                _context.Observer.Failed(Describe(pod, source, original, null, service), ConnectionFailure.NoHealthyUpstream, failure, policy: null);
            }
            client.Reset();
            return;
        }

        ConnectionDescription description = Describe(pod, source, target, workload, service);
        TunnelStream upstream;
        try
        {
            upstream = workload is { Protocol: WorkloadProtocol.Hbone }
                ? await _tunnels.OpenAsync(pod, workload.GetIdentity(_context.TrustDomain), target, source, stopping)
                : new SocketTunnelStream(await PodSockets.ConnectAsync(_context, pod, target, sourceAddress: null, stopping));
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The pod is being removed while we connected: nothing to report, but the client must not
            // be left to the finalizer (this runs on a fire-and-forget task).
            client.Reset();
            return;
        }
        catch (Exception ex)
        {
            ProxyLog.OutboundFailed(_logger, pod, source, target, ex.Message);
            _context.Observer.Failed(description, ConnectionFailure.ConnectFailed, ex.Message, policy: null);
            client.Reset();
            return;
        }
        // Started, not awaited: this method's state (everything resolved above) is not kept for the connection's life.
        ProxiedConnection.Start(_context, description, client, upstream, _logger, stopping);
    }

    private ConnectionDescription Describe(EnrolledPod pod, IPEndPoint source, IPEndPoint target, Workload? workload, Service? service) => new(
        ConnectionDirection.Outbound, source, target, pod.Identity,
        workload is { Protocol: WorkloadProtocol.Hbone } ? workload.GetIdentity(_context.TrustDomain) : null,
        pod.Uid, workload?.Uid, workload?.Namespace, service);

    /// <summary>
    /// Where the connection really goes: a service VIP resolves to a healthy endpoint's workload and
    /// target port; any other address is taken as it is (a workload we know, or the outside world).
    /// <paramref name="service"/> is the service of the VIP, if it was one (telemetry's destination_service).
    /// </summary>
    private bool TryResolve(EnrolledPod pod, MeshState state, IPEndPoint original, out IPEndPoint target, out Workload? workload, out Service? service, out string? failure)
    {
        failure = null;
        service = state.FindService(original.Address, original.Port)?.Service;
        if (service is not null)
        {
            ServiceDestination? picked = _context.EndpointPicker.Pick(state, service, original.Port);
            if (picked is null)
            {
                ProxyLog.NoHealthyEndpoint(_logger, pod, $"{service.Namespace}/{service.Name}", original.Port);
                failure = $"service {service.Namespace}/{service.Name} has no healthy endpoint for port {original.Port}";
                target = original;
                workload = null;
                return false;
            }
            target = picked.Target;
            workload = picked.Workload;
        }
        else
        {
            target = original;
            workload = state.FindWorkload(original.Address);
        }
        if (InpodConfig.IsDaemonPort(target.Port))
        {
            ProxyLog.SelfCall(_logger, pod, target);
            return false;
        }
        return true;
    }
}
