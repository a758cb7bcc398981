using System.Net;
using System.Net.Sockets;
using Ztunnel.Capture;

namespace Ztunnel.E2E.Capture;

/// <summary>
/// A node netns and a pod netns joined by a veth, our rules installed in the pod, and the daemon's
/// listeners opened there through <see cref="NetnsRunner"/>: what the IPv4 and IPv6 capture tests share.
/// </summary>
public abstract class CapturedPodTests : IAsyncLifetime
{
    protected static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private readonly List<Socket> _sockets = [];
    private TestTopology? _topology;

    private protected NetnsRunner Runner { get; } = new();
    protected TestNamespace Pod { get; private set; } = null!;
    protected TestNamespace Node { get; private set; } = null!;

    /// <summary>The pod's 15001 listener (outbound capture).</summary>
    protected Socket Outbound { get; private set; } = null!;

    /// <summary>The pod's transparent 15006 listener (inbound plaintext capture).</summary>
    protected Socket Inbound { get; private set; } = null!;

    protected abstract bool Ipv6 { get; }

    /// <summary>Where 15001 and 15006 listen: 127.0.0.1/0.0.0.0 for IPv4, [::] (dual-stack) for IPv6.</summary>
    protected abstract (IPAddress Outbound, IPAddress Inbound) ListenAddresses { get; }

    /// <summary>Listeners beyond 15001 and 15006 (15008).</summary>
    protected virtual Task OpenMoreListenersAsync() => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        try
        {
            _topology = await TestTopology.CreateAsync("cap");
            Pod = _topology.Pods[0];
            Node = _topology.Node;
            await new PodRules().ApplyAsync(Pod.Path, Ipv6, CancellationToken.None);
            var (outbound, inbound) = ListenAddresses;
            Outbound = Track(await Runner.CreateListenerAsync(Pod.Path, new IPEndPoint(outbound, InpodConfig.OutboundPort), transparent: false, InpodConfig.DaemonMark));
            Inbound = Track(await Runner.CreateListenerAsync(Pod.Path, new IPEndPoint(inbound, InpodConfig.InboundPlaintextPort), transparent: true, InpodConfig.DaemonMark));
            await OpenMoreListenersAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public Task DisposeAsync()
    {
        foreach (Socket socket in _sockets)
        {
            socket.Dispose();
        }
        Runner.Dispose();
        _topology?.Dispose();
        return Task.CompletedTask;
    }

    protected Socket Track(Socket socket)
    {
        _sockets.Add(socket);
        return socket;
    }
}
