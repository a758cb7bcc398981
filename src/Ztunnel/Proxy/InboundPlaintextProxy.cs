using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Ztunnel.Authorization;
using Ztunnel.Capture;
using Ztunnel.Discovery;
using Ztunnel.Sockets;

namespace Ztunnel.Proxy;

/// <summary>
/// The inbound plaintext path (DESIGN §5): a client outside the mesh connecting to a captured pod,
/// diverted by TPROXY to 15006. The listener's local endpoint is the original destination. Authorized
/// with no identity (so PeerAuthentication STRICT denies it); a denied connection is closed before the
/// app ever sees it.
/// </summary>
internal sealed class InboundPlaintextProxy
{
    private readonly ProxyContext _context;
    private readonly ILogger _logger;

    public InboundPlaintextProxy(ProxyContext context)
    {
        _context = context;
        _logger = context.LoggerFactory.CreateLogger<InboundPlaintextProxy>();
    }

    public Task AcceptLoopAsync(EnrolledPod pod, Socket listener, CancellationToken stopping) =>
        PodSockets.AcceptLoopAsync(listener, accepted => HandleAsync(pod, accepted, pod.Removed), ex => ProxyLog.AcceptFailed(_logger, pod, ex), stopping);

    /// <summary>Handles one accepted connection; completes once it relays (the relay runs on) or was refused.</summary>
    public async Task HandleAsync(EnrolledPod pod, Socket accepted, CancellationToken stopping)
    {
        var client = new SocketTunnelStream(accepted);
        IPEndPoint source = PodSockets.Unmapped(accepted.RemoteEndPoint);
        IPEndPoint destination = PodSockets.Unmapped(accepted.LocalEndPoint);
        if (!pod.HasAddress(destination.Address) || InpodConfig.IsDaemonPort(destination.Port))
        {
            ProxyLog.InboundFailed(_logger, pod, source, destination, "not addressed to an application port of this pod");
            client.Reset();
            return;
        }

        MeshState state = _context.State.Current;
        Workload? workload = pod.FindWorkload(state);
        var description = new ConnectionDescription(
            ConnectionDirection.InboundPlaintext, source, destination, SourceIdentity: null, pod.Identity,
            SourceWorkloadUid: state.FindWorkload(source.Address)?.Uid, workload?.Uid ?? pod.Uid, workload?.Namespace ?? pod.Registration.Namespace);
        AuthorizationDecision decision = _context.Authorizer.Authorize(state, description);
        if (!decision.Allowed)
        {
            _context.Observer.Failed(description, ConnectionFailure.Denied, decision.Summary, decision.DecidingPolicy?.ToString());
            client.Reset();
            return;
        }

        PolledSocket app;
        try
        {
            app = await PodSockets.ConnectAsync(_context, pod, destination, source.Address, stopping);
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
            ProxyLog.InboundFailed(_logger, pod, source, destination, ex.Message);
            _context.Observer.Failed(description, ConnectionFailure.ConnectFailed, ex.Message, policy: null);
            client.Reset();
            return;
        }
        // Started, not awaited: this method's state is not kept for the connection's life.
        ProxiedConnection.Start(_context, description, client, new SocketTunnelStream(app), _logger, stopping);
    }
}
