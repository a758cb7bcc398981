using Microsoft.Extensions.Logging;

namespace Ztunnel.Capture.Registration;

/// <summary>
/// The pods registered on this node and their state. Adds and deletes are serialized: they are rare
/// (pod churn), and running two setups of one netns at once would race on its iptables rules.
/// </summary>
public sealed partial class PodRegistry : IAsyncDisposable
{
    private readonly IPodLifecycle _lifecycle;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _mutation = new(1, 1);
    private readonly Dictionary<string, PodStatus> _pods = new(StringComparer.Ordinal);
    private readonly Lock _podsLock = new();

    public PodRegistry(IPodLifecycle lifecycle, ILogger<PodRegistry> logger)
    {
        _lifecycle = lifecycle;
        _logger = logger;
    }

    /// <summary>Raised after any pod changed state (for readiness and gauges).</summary>
    public event Action? Changed;

    /// <summary>
    /// Registers (or re-registers) a pod and sets it up. Returns its state; a failed setup is kept as
    /// <see cref="PodState.Failed"/> with the reason, and a later add of the same uid retries.
    /// </summary>
    public async Task<PodStatus> AddAsync(PodRegistration pod, CancellationToken cancellationToken)
    {
        string? invalid = pod.Validate();
        if (invalid is not null)
        {
            throw new ArgumentException(invalid, nameof(pod));
        }
        await _mutation.WaitAsync(cancellationToken);
        try
        {
            PodStatus? previous = Find(pod.Uid);
            if (previous is not null && previous.Pod.Netns != pod.Netns)
            {
                // Same uid, new sandbox (the runtime re-created it): the old netns is gone or stale.
                await StopQuietlyAsync(previous.Pod, cancellationToken);
            }
            Set(new PodStatus(pod, PodState.Pending, null));
            try
            {
                await _lifecycle.StartAsync(pod, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogPodFailed(pod, ex.Message);
                return Set(new PodStatus(pod, PodState.Failed, ex.Message));
            }
            LogPodAdded(pod, pod.Netns, pod.Ips);
            return Set(new PodStatus(pod, PodState.Ready, null));
        }
        finally
        {
            _mutation.Release();
        }
    }

    /// <summary>Removes a pod and tears it down. Returns false when the uid was not registered.</summary>
    public async Task<bool> RemoveAsync(string uid, CancellationToken cancellationToken)
    {
        await _mutation.WaitAsync(cancellationToken);
        try
        {
            PodStatus? status = Find(uid);
            if (status is null)
            {
                return false;
            }
            await StopQuietlyAsync(status.Pod, cancellationToken);
            lock (_podsLock)
            {
                _pods.Remove(uid);
            }
            LogPodRemoved(status.Pod);
            Changed?.Invoke();
            return true;
        }
        finally
        {
            _mutation.Release();
        }
    }

    public PodStatus? Find(string uid)
    {
        lock (_podsLock)
        {
            return _pods.GetValueOrDefault(uid);
        }
    }

    public IReadOnlyList<PodStatus> List()
    {
        lock (_podsLock)
        {
            var list = new List<PodStatus>(_pods.Values);
            list.Sort(static (a, b) => string.CompareOrdinal(a.Pod.Uid, b.Pod.Uid));
            return list;
        }
    }

    /// <summary>Tears every pod down (daemon shutdown). Rules are removed so no pod is left captured by a dead daemon.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (PodStatus status in List())
        {
            await RemoveAsync(status.Pod.Uid, CancellationToken.None);
        }
        _mutation.Dispose();
    }

    private PodStatus Set(PodStatus status)
    {
        lock (_podsLock)
        {
            _pods[status.Pod.Uid] = status;
        }
        Changed?.Invoke();
        return status;
    }

    private async Task StopQuietlyAsync(PodRegistration pod, CancellationToken cancellationToken)
    {
        try
        {
            await _lifecycle.StopAsync(pod, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The netns may already be gone with the pod; what is left of it goes with it.
            LogPodStopFailed(pod, ex.Message);
        }
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Pod {Pod} added: netns {Netns}, IPs {Ips}")]
    private partial void LogPodAdded(PodRegistration pod, string netns, IReadOnlyList<string> ips);

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Pod {Pod} removed")]
    private partial void LogPodRemoved(PodRegistration pod);

    [LoggerMessage(EventId = 302, Level = LogLevel.Error, Message = "Pod {Pod} could not be set up: {Reason}")]
    private partial void LogPodFailed(PodRegistration pod, string reason);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "Pod {Pod} teardown incomplete: {Reason}")]
    private partial void LogPodStopFailed(PodRegistration pod, string reason);
}
