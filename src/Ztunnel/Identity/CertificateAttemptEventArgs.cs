using Ztunnel.Tls;

namespace Ztunnel.Identity;

/// <summary>The outcome of one issuance attempt for an identity, and when the next one is due.</summary>
internal sealed class CertificateAttemptEventArgs(SpiffeId identity, WorkloadCertificate? certificate, Exception? error, DateTimeOffset nextAttemptAt) : EventArgs
{
    public SpiffeId Identity { get; } = identity;

    /// <summary>The new certificate; null when the attempt failed.</summary>
    public WorkloadCertificate? Certificate { get; } = certificate;

    public Exception? Error { get; } = error;

    /// <summary>Refresh time (half-life) after a success; retry time (backoff) after a failure.</summary>
    public DateTimeOffset NextAttemptAt { get; } = nextAttemptAt;
}
