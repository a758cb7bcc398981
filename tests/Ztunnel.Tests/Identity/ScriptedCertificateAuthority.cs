using Ztunnel.Identity;
using Ztunnel.Tls;

namespace Ztunnel.Tests.Identity;

/// <summary>
/// The real built-in CA behind a switch the test controls: it can be made to fail (CA down) or to
/// hold requests until released, and it records when each request arrived (on the test clock).
/// </summary>
internal sealed class ScriptedCertificateAuthority(ICertificateAuthority inner, TimeProvider clock) : ICertificateAuthority
{
    public List<DateTimeOffset> Calls { get; } = [];
    public Exception? Failure { get; set; }
    public TaskCompletionSource? Gate { get; set; }

    public TrustBundle TrustBundle => inner.TrustBundle;

    public async Task<SignedCertificate> SignAsync(byte[] csrDer, SpiffeId requested, TimeSpan lifetime, CancellationToken cancellationToken = default)
    {
        Calls.Add(clock.GetUtcNow());
        if (Gate is { } gate)
        {
            await gate.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        }
        if (Failure is { } failure)
        {
            throw failure;
        }
        return await inner.SignAsync(csrDer, requested, lifetime, cancellationToken);
    }
}
