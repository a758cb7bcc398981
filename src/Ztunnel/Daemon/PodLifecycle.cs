using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Ztunnel.Capture;
using Ztunnel.Capture.Registration;
using Ztunnel.Discovery;
using Ztunnel.Hbone;
using Ztunnel.Hbone.Server;
using Ztunnel.Identity;
using Ztunnel.Proxy;
using Ztunnel.Tls;
using Ztunnel.Tls.Native;

namespace Ztunnel.Daemon;

/// <summary>
/// What happens when a pod arrives on or leaves the node (DESIGN §3): capture rules in its netns, its
/// certificate, and the three listeners (15001 outbound, 15006 inbound plaintext, 15008 HBONE).
/// </summary>
internal sealed partial class PodLifecycle : IPodLifecycle, IAsyncDisposable
{
    private readonly ProxyContext _context;
    private readonly PodRules _rules;
    private readonly HboneServer _hbone;
    private readonly OutboundProxy _outbound;
    private readonly InboundPlaintextProxy _inboundPlaintext;
    private readonly IOutboundTunnels _tunnels;
    private readonly CertificateManager _certificates;
    private readonly ILogger _logger;
    private readonly Dictionary<string, (EnrolledPod Pod, List<HboneListenerInfo> HboneListeners)> _pods = new(StringComparer.Ordinal);
    private readonly Lock _podsLock = new();

    public PodLifecycle(ProxyContext context, PodRules rules, HboneServer hbone, OutboundProxy outbound,
        InboundPlaintextProxy inboundPlaintext, IOutboundTunnels tunnels, CertificateManager certificates)
    {
        _context = context;
        _rules = rules;
        _hbone = hbone;
        _outbound = outbound;
        _inboundPlaintext = inboundPlaintext;
        _tunnels = tunnels;
        _certificates = certificates;
        _logger = context.LoggerFactory.CreateLogger<PodLifecycle>();
        _certificates.AttemptCompleted += OnCertificateAttempt;
    }

    /// <summary>The pods set up on this node now.</summary>
    public IReadOnlyList<EnrolledPod> Pods
    {
        get
        {
            lock (_podsLock)
            {
                var pods = new List<EnrolledPod>(_pods.Count);
                foreach (var entry in _pods.Values)
                {
                    pods.Add(entry.Pod);
                }
                return pods;
            }
        }
    }

    public async Task StartAsync(PodRegistration registration, CancellationToken cancellationToken)
    {
        // A re-add (same uid) rebuilds the listeners; the rules are re-applied idempotently.
        await TeardownAsync(registration.Uid, removeRules: false, releaseTunnels: true, cancellationToken);

        SpiffeId identity = ResolveIdentity(registration);
        // A pod with an IPv6 address gets the IPv6 rules too: uncaptured, its IPv6 traffic would bypass
        // the mesh (no mTLS, and PeerAuthentication STRICT not enforced).
        await _rules.ApplyAsync(registration.Netns, HasIpv6(registration.Addresses), cancellationToken);
        // Opened once for the pod's life: the connections the daemon makes from inside the pod enter it by this.
        SafeFileHandle netns = LinuxNative.OpenNamespace(registration.Netns);
        _certificates.Acquire(identity);
        var pod = new EnrolledPod(registration, identity, registration.Addresses, netns);
        var hboneListeners = new List<HboneListenerInfo>();
        try
        {
            WorkloadCertificate certificate = await _certificates.GetAsync(identity, cancellationToken);
            await OpenListenersAsync(pod, certificate, hboneListeners);
        }
        catch
        {
            await pod.DisposeAsync();
            _certificates.Release(identity);
            throw;
        }
        lock (_podsLock)
        {
            _pods[registration.Uid] = (pod, hboneListeners);
        }
        LogEnrolled(pod, identity, hboneListeners.Count);
    }

    public Task StopAsync(PodRegistration registration, CancellationToken cancellationToken) =>
        TeardownAsync(registration.Uid, removeRules: true, releaseTunnels: true, cancellationToken);

    /// <summary>
    /// Daemon shutdown: closes every pod's listeners but leaves the capture rules, so pods fail closed
    /// until the daemon is back (it restores them from the registry's saved state). The pods' HBONE
    /// connection pools stay: open outbound tunnels ride on them while the daemon drains, and the daemon
    /// disposes the pools after the drain.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        _certificates.AttemptCompleted -= OnCertificateAttempt;
        foreach (EnrolledPod pod in Pods)
        {
            await TeardownAsync(pod.Uid, removeRules: false, releaseTunnels: false, CancellationToken.None);
        }
    }

    private async Task OpenListenersAsync(EnrolledPod pod, WorkloadCertificate certificate, List<HboneListenerInfo> hboneListeners)
    {
        // Dual-stack pods: one [::] listener per port takes both families (IPv4 as ::ffff:a.b.c.d).
        IPAddress any = HasIpv6(pod.Addresses) ? IPAddress.IPv6Any : IPAddress.Any;
        Socket outbound = await _context.Netns.CreateListenerAsync(pod.Netns, new IPEndPoint(any, InpodConfig.OutboundPort), transparent: false, InpodConfig.DaemonMark);
        // What it accepts comes from the pod's own apps over its loopback, and inherits the listener's choice.
        SocketOptions.UsePodLocalCongestionControl(outbound);
        pod.AddListener(outbound, (listener, stopping) => _outbound.AcceptLoopAsync(pod, listener, stopping));

        Socket inbound = await _context.Netns.CreateListenerAsync(pod.Netns, new IPEndPoint(any, InpodConfig.InboundPlaintextPort), transparent: true, InpodConfig.DaemonMark);
        pod.AddListener(inbound, (listener, stopping) => _inboundPlaintext.AcceptLoopAsync(pod, listener, stopping));

        foreach (IPAddress address in pod.Addresses)
        {
            var endPoint = new IPEndPoint(address, InpodConfig.InboundHbonePort);
            // Freebind: the CNI plugin runs right after the pod got its addresses, and an IPv6 one is
            // still tentative (duplicate address detection) for a second or so; a plain bind would fail.
            Socket hbone = await _context.Netns.CreateListenerAsync(pod.Netns, endPoint, transparent: false, InpodConfig.DaemonMark, freebind: true);
            var info = new HboneListenerInfo($"{pod.Registration.Namespace}/{pod.Registration.Name}", endPoint,
                NativeTlsContext.ForServer(certificate, _certificates.TrustBundle, _logger), tag: pod);
            pod.AddResource(_hbone.Listeners.Add(hbone, info));
            hboneListeners.Add(info);
        }
    }

    private async Task TeardownAsync(string uid, bool removeRules, bool releaseTunnels, CancellationToken cancellationToken)
    {
        EnrolledPod? pod;
        lock (_podsLock)
        {
            pod = _pods.Remove(uid, out var entry) ? entry.Pod : null;
        }
        if (pod is null)
        {
            return;
        }
        if (removeRules)
        {
            await pod.CloseConnectionsAsync();
        }
        await pod.DisposeAsync();
        if (releaseTunnels)
        {
            await _tunnels.ReleaseAsync(pod);
        }
        _certificates.Release(pod.Identity);
        // A deleted pod's netns may already be gone, and its rules with it.
        if (removeRules && File.Exists(pod.Netns))
        {
            await _rules.RemoveAsync(pod.Netns, HasIpv6(pod.Addresses), cancellationToken);
        }
    }

    private static bool HasIpv6(IReadOnlyList<IPAddress> addresses)
    {
        foreach (IPAddress address in addresses)
        {
            if (address.AddressFamily == AddressFamily.InterNetworkV6)
            {
                return true;
            }
        }
        return false;
    }

    private SpiffeId ResolveIdentity(PodRegistration registration)
    {
        MeshState state = _context.State.Current;
        Workload? workload = state.FindWorkloadByUid(registration.Uid);
        if (workload is null)
        {
            foreach (IPAddress address in registration.Addresses)
            {
                workload ??= state.FindWorkload(address);
            }
        }
        return workload?.GetIdentity(_context.TrustDomain)
            ?? new SpiffeId(_context.TrustDomain, registration.Namespace, registration.ServiceAccount ?? "default");
    }

    // A rotated certificate: new handshakes on the pod's HBONE listeners present it.
    private void OnCertificateAttempt(object? sender, CertificateAttemptEventArgs attempt)
    {
        if (attempt.Certificate is null)
        {
            return;
        }
        lock (_podsLock)
        {
            foreach (var (pod, listeners) in _pods.Values)
            {
                if (pod.Identity == attempt.Identity)
                {
                    foreach (HboneListenerInfo info in listeners)
                    {
                        info.ServerTls = NativeTlsContext.ForServer(attempt.Certificate, _certificates.TrustBundle, _logger);
                    }
                }
            }
        }
    }

    [LoggerMessage(EventId = 310, Level = LogLevel.Information, Message = "Pod {Pod} captured as {Identity}: listeners 15001, 15006 and {HboneListeners} HBONE")]
    private partial void LogEnrolled(EnrolledPod pod, SpiffeId identity, int hboneListeners);
}
