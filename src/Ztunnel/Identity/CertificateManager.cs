using Microsoft.Extensions.Logging;
using Ztunnel.Tls;

namespace Ztunnel.Identity;

/// <summary>
/// Keeps a certificate for every identity a local workload uses (DESIGN §8): fresh P-256 key and a CSR
/// with one URI SAN per issuance, signed by the <see cref="ICertificateAuthority"/>; refreshed at
/// half-life; on failure retried with exponential backoff while the old certificate is used until it
/// expires. Identities are reference counted by the caller (<see cref="Acquire"/>/<see cref="Release"/>,
/// one pair per local pod), and dropped when the last pod using them goes away.
/// </summary>
internal sealed partial class CertificateManager : IDisposable
{
    /// <summary>Floor for scheduling a refresh, so a CA handing out nearly-expired certificates cannot cause a busy loop.</summary>
    private static readonly TimeSpan MinRefreshDelay = TimeSpan.FromSeconds(1);

    private readonly ICertificateAuthority _ca;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _initialBackoff;
    private readonly TimeSpan _maxBackoff;
    // Guards _entries and every Entry's fields; never held while talking to the CA.
    private readonly Lock _lock = new();
    private readonly Dictionary<SpiffeId, Entry> _entries = [];
    private bool _disposed;

    public CertificateManager(
        ICertificateAuthority ca,
        TimeSpan lifetime,
        ILogger<CertificateManager> logger,
        TimeProvider? time = null,
        TimeSpan? initialBackoff = null,
        TimeSpan? maxBackoff = null)
    {
        ArgumentNullException.ThrowIfNull(ca);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lifetime, TimeSpan.Zero);
        _ca = ca;
        Lifetime = lifetime;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _initialBackoff = initialBackoff ?? TimeSpan.FromSeconds(1);
        _maxBackoff = maxBackoff ?? TimeSpan.FromMinutes(5);
    }

    /// <summary>Requested validity of each workload certificate.</summary>
    public TimeSpan Lifetime { get; }

    /// <summary>The roots peers must chain to (for <see cref="HboneTls"/> options).</summary>
    public TrustBundle TrustBundle => _ca.TrustBundle;

    /// <summary>Raised after every issuance attempt (initial, refresh, retry), outside any lock.</summary>
    public event EventHandler<CertificateAttemptEventArgs>? AttemptCompleted;

    /// <summary>The identities currently in use, for the admin config dump.</summary>
    public IReadOnlyList<SpiffeId> Identities
    {
        get
        {
            lock (_lock)
            {
                return [.. _entries.Keys];
            }
        }
    }

    /// <summary>
    /// Marks <paramref name="identity"/> as used by one more local workload. The first use starts issuance
    /// right away, so the certificate is usually ready before the pod's first connection.
    /// </summary>
    public void Acquire(SpiffeId identity)
    {
        Entry entry;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_entries.TryGetValue(identity, out var existing))
            {
                existing.RefCount++;
                return;
            }
            entry = new Entry(identity, _initialBackoff) { RefCount = 1, Running = true };
            entry.Timer = _time.CreateTimer(state => OnTimer((Entry)state!), entry, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _entries.Add(identity, entry);
        }
        _ = AttemptAsync(entry);
    }

    /// <summary>One local workload stopped using <paramref name="identity"/>; the last release drops the certificate.</summary>
    public void Release(SpiffeId identity)
    {
        TaskCompletionSource<WorkloadCertificate>? waiters;
        lock (_lock)
        {
            if (!_entries.TryGetValue(identity, out var entry))
            {
                throw new InvalidOperationException($"identity {identity} released more often than acquired");
            }
            if (--entry.RefCount > 0)
            {
                return;
            }
            _entries.Remove(identity);
            waiters = Retire(entry);
        }
        waiters?.TrySetException(new InvalidOperationException($"identity {identity} was released while a certificate was being issued"));
        CertificateManagerLog.Removed(_logger, identity);
    }

    /// <summary>
    /// The current certificate for <paramref name="identity"/>. Without a valid one, waits for the attempt
    /// in flight or the next scheduled one (concurrent callers share it); a failed attempt fails its waiters.
    /// Throws <see cref="InvalidOperationException"/> when no local workload has acquired the identity.
    /// </summary>
    public Task<WorkloadCertificate> GetAsync(SpiffeId identity, CancellationToken cancellationToken = default)
    {
        Task<WorkloadCertificate> task;
        lock (_lock)
        {
            if (!_entries.TryGetValue(identity, out var entry))
            {
                throw new InvalidOperationException($"no local workload uses identity {identity} (acquire it when the pod is added)");
            }
            if (entry.Current is { } current && _time.GetUtcNow() < current.NotAfter)
            {
                return Task.FromResult(current);
            }
            // An attempt is always either running or scheduled (refresh or retry); it completes these waiters.
            entry.Waiters ??= new TaskCompletionSource<WorkloadCertificate>(TaskCreationOptions.RunContinuationsAsynchronously);
            task = entry.Waiters.Task;
        }
        return cancellationToken.CanBeCanceled ? task.WaitAsync(cancellationToken) : task;
    }

    /// <summary>The valid certificate for <paramref name="identity"/>, if there is one right now (no waiting).</summary>
    public WorkloadCertificate? TryGetCurrent(SpiffeId identity)
    {
        lock (_lock)
        {
            return _entries.TryGetValue(identity, out var entry) && entry.Current is { } c && _time.GetUtcNow() < c.NotAfter ? c : null;
        }
    }

    public void Dispose()
    {
        List<TaskCompletionSource<WorkloadCertificate>> waiters = [];
        lock (_lock)
        {
            _disposed = true;
            foreach (var entry in _entries.Values)
            {
                if (Retire(entry) is { } w)
                {
                    waiters.Add(w);
                }
            }
            _entries.Clear();
        }
        foreach (var w in waiters)
        {
            w.TrySetException(new ObjectDisposedException(nameof(CertificateManager)));
        }
    }

    private static TaskCompletionSource<WorkloadCertificate>? Retire(Entry entry)
    {
        entry.Removed = true;
        entry.Timer?.Dispose();
        var waiters = entry.Waiters;
        entry.Waiters = null;
        // The last certificate is not disposed: live connections may still present it.
        return waiters;
    }

    private void OnTimer(Entry entry)
    {
        lock (_lock)
        {
            if (entry.Removed || entry.Running)
            {
                return;
            }
            entry.Running = true;
        }
        _ = AttemptAsync(entry);
    }
}
