using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Ztunnel.Authorization;
using Ztunnel.Capture;
using Ztunnel.Discovery;
using Ztunnel.Hbone;
using Ztunnel.Hbone.Server;
using Ztunnel.Sockets;

namespace Ztunnel.Proxy;

/// <summary>
/// The inbound HBONE path (DESIGN §5): a CONNECT on a pod's 15008. The target must be this pod (else
/// 400), the peer's verified identity is authorized (else 401), the app is connected with the client's
/// IP preserved (else 503), and only then the server answers 200 and the relay runs.
/// </summary>
internal sealed class InboundHboneHandler : IHboneRequestHandler
{
    private readonly ProxyContext _context;
    private readonly ILogger _logger;

    public InboundHboneHandler(ProxyContext context)
    {
        _context = context;
        _logger = context.LoggerFactory.CreateLogger<InboundHboneHandler>();
    }

    public async ValueTask<HboneAcceptResult> AcceptAsync(HboneRequest request, CancellationToken cancellationToken)
    {
        if (request.Listener.Tag is not EnrolledPod pod)
        {
            return HboneAcceptResult.Reject(HboneStatus.ServiceUnavailable, "listener belongs to no pod");
        }
        IPEndPoint target = request.Authority;
        if (!pod.HasAddress(target.Address))
        {
            return HboneAcceptResult.Reject(HboneStatus.BadRequest, $"target {target} is not pod {pod}");
        }
        if (InpodConfig.IsDaemonPort(target.Port))
        {
            return HboneAcceptResult.Reject(HboneStatus.BadRequest, $"target port {target.Port} is one of the daemon's own");
        }
        if (request.RemoteEndPoint is not { } peer)
        {
            return HboneAcceptResult.Reject(HboneStatus.BadRequest, "no peer address");
        }
        // The tunnel's TCP peer is the source pod itself (its daemon dials from inside the pod's netns).
        var source = new IPEndPoint(peer.Address.IsIPv4MappedToIPv6 ? peer.Address.MapToIPv4() : peer.Address, request.ForwardedFor?.Port ?? peer.Port);

        MeshState state = _context.State.Current;
        Workload? workload = pod.FindWorkload(state);
        var description = new ConnectionDescription(
            ConnectionDirection.InboundHbone, source, target, request.PeerIdentity, pod.Identity,
            state.FindWorkload(source.Address)?.Uid, workload?.Uid ?? pod.Uid, workload?.Namespace ?? pod.Registration.Namespace);
        AuthorizationDecision decision = _context.Authorizer.Authorize(state, description);
        if (!decision.Allowed)
        {
            _context.Observer.Failed(description, ConnectionFailure.Denied, decision.Summary, decision.DecidingPolicy?.ToString());
            return HboneAcceptResult.Reject(HboneStatus.Unauthorized, decision.Summary);
        }

        PolledSocket app;
        try
        {
            app = await PodSockets.ConnectAsync(_context, pod, target, source.Address, cancellationToken);
        }
        catch (Exception ex) when (ex is SocketException or TimeoutException or CaptureException)
        {
            ProxyLog.InboundFailed(_logger, pod, source, target, ex.Message);
            _context.Observer.Failed(description, ConnectionFailure.ConnectFailed, ex.Message, policy: null);
            return HboneAcceptResult.Reject(HboneStatus.ServiceUnavailable, $"connect to {target} failed: {ex.Message}");
        }
        return HboneAcceptResult.Accept(new Session(this, description, new SocketTunnelStream(app), pod.Removed));
    }

    /// <summary>An accepted tunnel: relays between it and the app connection prepared in AcceptAsync.</summary>
    private sealed class Session(InboundHboneHandler owner, ConnectionDescription description, SocketTunnelStream app, CancellationToken podRemoved) : IHboneSession
    {
        public Task RunAsync(TunnelStream tunnel, CancellationToken cancellationToken)
        {
            // The tunnel's own abort (client reset, connection lost, server stop) reaches the relay through the stream
            // itself (TunnelStream.ResetAlongWith), so the token for it costs no registration here.
            ProxiedConnection.Start(owner._context, description, tunnel, app, owner._logger, podRemoved);
            return Task.CompletedTask;
        }

        // The relay runs on after RunAsync returned; it disposes both ends (the tunnel reset unless it ended both ways).
        public bool EndsTunnelItself => true;

        // RunAsync disposes the app socket; this covers a session that never ran (the 200 could not be sent).
        public ValueTask DisposeAsync() => app.DisposeAsync();
    }
}
