using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Ztunnel.Tls;

namespace Ztunnel.Identity;

internal sealed partial class CertificateManager
{
    /// <summary>One identity's certificate state. Every field is guarded by the manager's lock.</summary>
    private sealed class Entry(SpiffeId id, TimeSpan backoff)
    {
        public SpiffeId Id { get; } = id;
        public int RefCount { get; set; }
        public WorkloadCertificate? Current { get; set; }
        /// <summary>Callers waiting because there is no valid certificate; completed by the next attempt.</summary>
        public TaskCompletionSource<WorkloadCertificate>? Waiters { get; set; }
        public ITimer? Timer { get; set; }
        public TimeSpan NextBackoff { get; set; } = backoff;
        public bool Running { get; set; }
        public bool Removed { get; set; }
    }

    // Never throws: every outcome is recorded on the entry and reported to the waiters.
    private async Task AttemptAsync(Entry entry)
    {
        WorkloadCertificate? issued = null;
        Exception? error = null;
        try
        {
            issued = await IssueAsync(entry.Id).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            error = e;
        }

        TaskCompletionSource<WorkloadCertificate>? waiters = null;
        DateTimeOffset next;
        TimeSpan delay;
        WorkloadCertificate? fallback;
        lock (_lock)
        {
            entry.Running = false;
            if (entry.Removed)
            {
                issued?.Dispose();
                return;
            }
            var now = _time.GetUtcNow();
            if (issued is not null)
            {
                entry.Current = issued;
                entry.NextBackoff = _initialBackoff;
                delay = issued.RefreshAt - now;
                if (delay < MinRefreshDelay)
                {
                    delay = MinRefreshDelay;
                }
                waiters = entry.Waiters;
                entry.Waiters = null;
            }
            else
            {
                delay = entry.NextBackoff;
                entry.NextBackoff = entry.NextBackoff * 2 > _maxBackoff ? _maxBackoff : entry.NextBackoff * 2;
                if (entry.Current is null || now >= entry.Current.NotAfter)
                {
                    // The waiters of this attempt fail now; later callers wait for the retry.
                    waiters = entry.Waiters;
                    entry.Waiters = null;
                }
            }
            fallback = entry.Current;
            next = now + delay;
            entry.Timer!.Change(delay, Timeout.InfiniteTimeSpan);
        }

        if (issued is not null)
        {
            CertificateManagerLog.Issued(_logger, entry.Id, issued.NotAfter, next);
            waiters?.TrySetResult(issued);
        }
        else
        {
            string reason = error!.Message;
            string fallbackText = fallback is not null && fallback.NotAfter > _time.GetUtcNow()
                ? $"still using the certificate valid until {fallback.NotAfter:u}"
                : "no valid certificate: connections of this identity fail until it is issued";
            CertificateManagerLog.Failed(_logger, entry.Id, reason, delay, fallbackText, error);
            waiters?.TrySetException(new CertificateUnavailableException($"no certificate for {entry.Id}: {reason}", error));
        }
        AttemptCompleted?.Invoke(this, new CertificateAttemptEventArgs(entry.Id, issued, error, next));
    }

    private async Task<WorkloadCertificate> IssueAsync(SpiffeId id)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = CertificateMinter.CreateCsr(key, id);
        var signed = await _ca.SignAsync(csr, id, Lifetime).ConfigureAwait(false);
        using var leaf = signed.Certificate;
        var certificate = new WorkloadCertificate(leaf.CopyWithPrivateKey(key), signed.Intermediates);
        if (certificate.Identity != id)
        {
            certificate.Dispose();
            throw new CertificateRequestRejectedException($"CA returned a certificate for {certificate.Identity}, not {id}");
        }
        if (certificate.NotAfter <= _time.GetUtcNow())
        {
            certificate.Dispose();
            throw new CertificateRequestRejectedException($"CA returned a certificate for {id} that expired at {certificate.NotAfter:u}");
        }
        return certificate;
    }
}
