using System.Net;
using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;
using Ztunnel.Capture.Registration;
using Ztunnel.Discovery;
using Ztunnel.Tls;

namespace Ztunnel.Proxy;

/// <summary>
/// A pod captured on this node: its network namespace, addresses and identity, and the listeners the
/// daemon owns inside it. Created when the pod is registered, disposed when it is deleted.
/// </summary>
internal sealed class EnrolledPod : IAsyncDisposable
{
    private readonly List<Socket> _listeners = [];
    private readonly List<IAsyncDisposable> _resources = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _removed = new();
    private readonly List<Task> _acceptLoops = [];

    public EnrolledPod(PodRegistration registration, SpiffeId identity, IReadOnlyList<IPAddress> addresses, SafeFileHandle netnsHandle)
    {
        Registration = registration;
        Identity = identity;
        Addresses = addresses;
        NetnsHandle = netnsHandle;
    }

    public PodRegistration Registration { get; }
    public string Uid => Registration.Uid;
    public string Netns => Registration.Netns;

    /// <summary>
    /// The pod's network namespace, open for as long as the pod is enrolled: every connection the daemon makes
    /// from inside the pod enters it (setns) without opening the namespace file again. It keeps the namespace
    /// no longer alive than the pod's listeners do.
    /// </summary>
    public SafeFileHandle NetnsHandle { get; }
    public SpiffeId Identity { get; }
    public IReadOnlyList<IPAddress> Addresses { get; }

    /// <summary>Cancelled when the pod's listeners close (pod removed, or daemon shutting down): accept loops stop.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>
    /// Cancelled only when the pod itself is removed: its live connections are cut. On daemon shutdown
    /// they are drained instead (see <see cref="ConnectionTracker.DrainAsync"/>).
    /// </summary>
    public CancellationToken Removed => _removed.Token;

    /// <summary>Cuts the pod's live connections (the pod was deleted).</summary>
    public Task CloseConnectionsAsync() => _removed.CancelAsync();

    public bool HasAddress(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        foreach (IPAddress own in Addresses)
        {
            if (own.Equals(address))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The workload entry for this pod in <paramref name="state"/>, by uid, else by address.</summary>
    public Workload? FindWorkload(MeshState state)
    {
        if (state.FindWorkloadByUid(Uid) is { } byUid)
        {
            return byUid;
        }
        foreach (IPAddress address in Addresses)
        {
            if (state.FindWorkload(address) is { } byAddress)
            {
                return byAddress;
            }
        }
        return null;
    }

    public void AddListener(Socket listener, Func<Socket, CancellationToken, Task> acceptLoop)
    {
        _listeners.Add(listener);
        _acceptLoops.Add(acceptLoop(listener, _stopping.Token));
    }

    /// <summary>Something to release with the pod (the HBONE listener registration, a connection pool).</summary>
    public void AddResource(IAsyncDisposable resource) => _resources.Add(resource);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        foreach (Socket listener in _listeners)
        {
            listener.Dispose();
        }
        await Task.WhenAll(_acceptLoops);
        for (int i = _resources.Count - 1; i >= 0; i--)
        {
            await _resources[i].DisposeAsync();
        }
        // A connection being set up right now holds its own reference (SafeHandle), so this cannot pull the
        // namespace from under its setns; a later one fails cleanly (ObjectDisposedException -> CaptureException).
        NetnsHandle.Dispose();
        // The token sources are not disposed: connections still running may look at their tokens.
    }

    public override string ToString() => Registration.ToString();
}
