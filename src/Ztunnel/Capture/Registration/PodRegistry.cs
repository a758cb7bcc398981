using Microsoft.Extensions.Logging;

namespace Ztunnel.Capture.Registration;

/// <summary>
/// The pods registered on this node and their state. Adds and deletes are serialized: they are rare
/// (pod churn), and running two setups of one netns at once would race on its iptables rules.
/// The registrations are saved to a file after every change, so a restarted daemon picks its pods up
/// again without waiting for the runtime to re-send them (DESIGN §3: restart is idempotent).
/// </summary>
public sealed partial class PodRegistry : IAsyncDisposable
{
    private readonly IPodLifecycle _lifecycle;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _mutation = new(1, 1);
    private readonly Dictionary<string, PodStatus> _pods = new(StringComparer.Ordinal);
    private readonly Lock _podsLock = new();

    private readonly string? _statePath;

    public PodRegistry(IPodLifecycle lifecycle, ILogger<PodRegistry> logger, string? statePath = null)
    {
        _lifecycle = lifecycle;
        _logger = logger;
        _statePath = statePath;
    }

    /// <summary>
    /// Re-registers the pods saved by a previous run whose network namespace still exists. Returns how
    /// many were set up again. A missing or unreadable state file means nothing to restore.
    /// </summary>
    public async Task<int> RestoreAsync(CancellationToken cancellationToken)
    {
        if (_statePath is null || !File.Exists(_statePath))
        {
            return 0;
        }
        IReadOnlyList<PodRegistration>? saved;
        try
        {
            await using FileStream file = File.OpenRead(_statePath);
            saved = await System.Text.Json.JsonSerializer.DeserializeAsync(file, RegistrationJsonContext.Default.IReadOnlyListPodRegistration, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or System.Text.Json.JsonException or UnauthorizedAccessException)
        {
            LogRestoreFailed(_statePath, ex.Message);
            return 0;
        }
        int restored = 0;
        // Until every saved pod was tried, the file stays as it is: a crash mid-restore loses nothing.
        _restoring = true;
        try
        {
            restored = await RestoreEachAsync(saved ?? [], cancellationToken);
        }
        finally
        {
            _restoring = false;
        }
        await SaveAsync(cancellationToken);
        return restored;
    }

    private bool _restoring;

    private async Task<int> RestoreEachAsync(IReadOnlyList<PodRegistration> saved, CancellationToken cancellationToken)
    {
        int restored = 0;
        foreach (PodRegistration pod in saved)
        {
            if (pod.Validate() is not null || !File.Exists(pod.Netns))
            {
                continue; // The pod went away while the daemon was down.
            }
            if ((await AddAsync(pod, cancellationToken)).State == PodState.Ready)
            {
                restored++;
            }
        }
        return restored;
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
            catch (OperationCanceledException)
            {
                // Never leave a pod pending: readiness would wait for it forever.
                Set(new PodStatus(pod, PodState.Failed, "setup was cancelled"));
                throw;
            }
            catch (Exception ex)
            {
                LogPodFailed(pod, ex.Message);
                return Set(new PodStatus(pod, PodState.Failed, ex.Message));
            }
            LogPodAdded(pod, pod.Netns, pod.Ips);
            PodStatus ready = Set(new PodStatus(pod, PodState.Ready, null));
            await SaveAsync(cancellationToken);
            return ready;
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
            await SaveAsync(cancellationToken);
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

    /// <summary>
    /// Forgets the pods without tearing them down. On daemon shutdown the capture rules stay in place on
    /// purpose: a pod whose daemon is restarting fails closed (no connections) rather than open (plaintext).
    /// </summary>
    public ValueTask DisposeAsync()
    {
        _mutation.Dispose();
        return ValueTask.CompletedTask;
    }

    // Write-then-rename: a crash mid-write leaves the previous file, never a torn one.
    private async Task SaveAsync(CancellationToken cancellationToken)
    {
        if (_statePath is null || _restoring)
        {
            return;
        }
        var pods = new List<PodRegistration>();
        foreach (PodStatus status in List())
        {
            pods.Add(status.Pod);
        }
        try
        {
            string temporary = _statePath + ".tmp";
            await using (FileStream file = File.Create(temporary))
            {
                await System.Text.Json.JsonSerializer.SerializeAsync(file, pods, RegistrationJsonContext.Default.ListPodRegistration, cancellationToken);
            }
            File.Move(temporary, _statePath, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogSaveFailed(_statePath, ex.Message);
        }
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

    [LoggerMessage(EventId = 304, Level = LogLevel.Warning, Message = "Cannot restore pods from {Path}: {Reason}")]
    private partial void LogRestoreFailed(string path, string reason);

    [LoggerMessage(EventId = 305, Level = LogLevel.Warning, Message = "Cannot save pods to {Path}: {Reason}; a restart will wait for the runtime to re-register them")]
    private partial void LogSaveFailed(string path, string reason);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "Pod {Pod} teardown incomplete: {Reason}")]
    private partial void LogPodStopFailed(PodRegistration pod, string reason);
}
