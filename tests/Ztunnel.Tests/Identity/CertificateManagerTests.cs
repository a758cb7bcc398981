using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Identity;
using Ztunnel.Tls;

namespace Ztunnel.Tests.Identity;

public sealed class CertificateManagerTests : IDisposable
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);
    private static readonly SpiffeId Sleep = SpiffeId.Parse("spiffe://cluster.local/ns/demo/sa/sleep");
    private readonly ManualTimeProvider _clock;
    private readonly FileCertificateAuthority _realCa;
    private readonly ScriptedCertificateAuthority _ca;
    private readonly CertificateManager _manager;

    public CertificateManagerTests()
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        _clock = new ManualTimeProvider(now);
        _realCa = new FileCertificateAuthority(CertificateMinter.CreateRoot("cluster.local", now.AddHours(-1), now.AddDays(3650)), _clock);
        _ca = new ScriptedCertificateAuthority(_realCa, _clock);
        _manager = new CertificateManager(_ca, TimeSpan.FromHours(24), NullLogger<CertificateManager>.Instance, _clock,
            initialBackoff: TimeSpan.FromSeconds(1), maxBackoff: TimeSpan.FromSeconds(60));
    }

    private Task<WorkloadCertificate> Get() => _manager.GetAsync(Sleep).WaitAsync(HangGuard);

    [Fact]
    public async Task Acquire_IssuesP256CertificateWithOneUriSan_ChainingToTheBundle()
    {
        _manager.Acquire(Sleep);
        var cert = await Get();

        cert.Identity.ShouldBe(Sleep);
        SpiffeCertificate.GetUris(cert.Certificate).ShouldBe([Sleep.ToString()]);
        cert.Certificate.GetECDsaPublicKey()!.KeySize.ShouldBe(256);
        cert.Certificate.HasPrivateKey.ShouldBeTrue();
        (cert.NotAfter - _clock.GetUtcNow()).ShouldBe(TimeSpan.FromHours(24));
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_manager.TrustBundle.Roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = _clock.GetUtcNow().UtcDateTime;
        chain.Build(cert.Certificate).ShouldBeTrue(string.Join(", ", chain.ChainStatus.Select(s => s.StatusInformation)));
    }

    [Fact]
    public async Task ConcurrentCallers_ShareOneIssuance()
    {
        _ca.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _manager.Acquire(Sleep);
        var callers = Enumerable.Range(0, 10).Select(_ => Get()).ToArray();

        callers.ShouldAllBe(t => !t.IsCompleted);
        _ca.Gate.SetResult();
        var results = await Task.WhenAll(callers);

        _ca.Calls.Count.ShouldBe(1);
        results.Distinct().ShouldHaveSingleItem();
    }

    [Fact]
    public async Task Refresh_HappensAtHalfLife_WithANewKey()
    {
        _manager.Acquire(Sleep);
        var first = await Get();

        _clock.Advance(first.RefreshAt - _clock.GetUtcNow() - TimeSpan.FromSeconds(1));
        _ca.Calls.Count.ShouldBe(1);
        (await Get()).ShouldBeSameAs(first);

        _clock.Advance(TimeSpan.FromSeconds(1));
        _ca.Calls.Count.ShouldBe(2);
        var second = await Get();
        second.ShouldNotBeSameAs(first);
        second.Certificate.SerialNumber.ShouldNotBe(first.Certificate.SerialNumber);
        second.Certificate.GetECDsaPublicKey()!.ExportSubjectPublicKeyInfo()
            .ShouldNotBe(first.Certificate.GetECDsaPublicKey()!.ExportSubjectPublicKeyInfo());
        second.NotAfter.ShouldBeGreaterThan(first.NotAfter);
    }

    [Fact]
    public async Task RefreshFailure_RetriesWithExponentialBackoff_AndKeepsTheOldCertificate()
    {
        _manager.Acquire(Sleep);
        var first = await Get();
        _ca.Failure = new CertificateRequestRejectedException("CA is down");

        _clock.Advance(first.RefreshAt - _clock.GetUtcNow());
        _clock.Advance(TimeSpan.FromSeconds(1 + 2 + 4 + 8 + 16 + 32 + 60 + 60));

        var gaps = _ca.Calls.Skip(1).Zip(_ca.Calls.Skip(2), (a, b) => (b - a).TotalSeconds).ToArray();
        gaps.ShouldBe([1, 2, 4, 8, 16, 32, 60, 60]);
        (await Get()).ShouldBeSameAs(first);

        // The CA recovers: the next retry succeeds and the backoff starts over.
        _ca.Failure = null;
        _clock.Advance(TimeSpan.FromSeconds(60));
        var second = await Get();
        second.ShouldNotBeSameAs(first);

        _ca.Failure = new CertificateRequestRejectedException("CA is down again");
        int before = _ca.Calls.Count;
        _clock.Advance(second.RefreshAt - _clock.GetUtcNow() + TimeSpan.FromSeconds(1));
        _ca.Calls.Count.ShouldBe(before + 2);
        (_ca.Calls[^1] - _ca.Calls[^2]).ShouldBe(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Expired_WhileCaIsDown_CallersWaitForTheNextAttempt()
    {
        _manager.Acquire(Sleep);
        var first = await Get();
        _ca.Failure = new CertificateRequestRejectedException("CA is down");

        _clock.Advance(first.NotAfter - _clock.GetUtcNow() + TimeSpan.FromSeconds(1));
        _manager.TryGetCurrent(Sleep).ShouldBeNull();
        var waiting = _manager.GetAsync(Sleep);
        waiting.IsCompleted.ShouldBeFalse();

        _ca.Failure = null;
        _clock.Advance(TimeSpan.FromSeconds(60));
        var fresh = await waiting.WaitAsync(HangGuard);
        fresh.NotAfter.ShouldBeGreaterThan(_clock.GetUtcNow());
    }

    [Fact]
    public async Task FailedIssuance_FailsItsWaiters_WithTheCaReason_ThenRetries()
    {
        _ca.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _manager.Acquire(Sleep);
        var waiting = Get();
        _ca.Failure = new CertificateRequestRejectedException("identity not allowed on this node");
        _ca.Gate.SetResult();

        var e = await Should.ThrowAsync<CertificateUnavailableException>(waiting);
        e.Message.ShouldContain("identity not allowed on this node");
        e.Message.ShouldContain(Sleep.ToString());

        _ca.Gate = null;
        _ca.Failure = null;
        var next = Get();
        _clock.Advance(TimeSpan.FromSeconds(1));
        (await next).Identity.ShouldBe(Sleep);
    }

    [Fact]
    public async Task Release_OfTheLastUse_StopsRefreshing_AndForgetsTheIdentity()
    {
        _manager.Acquire(Sleep);
        _manager.Acquire(Sleep);
        var first = await Get();

        _manager.Release(Sleep);
        _clock.Advance(first.RefreshAt - _clock.GetUtcNow());
        _ca.Calls.Count.ShouldBe(2);
        _manager.Identities.ShouldBe([Sleep]);

        _manager.Release(Sleep);
        _manager.Identities.ShouldBeEmpty();
        Should.Throw<InvalidOperationException>(() => _manager.GetAsync(Sleep)).Message.ShouldContain("no local workload uses identity");
        _clock.Advance(TimeSpan.FromDays(2));
        _ca.Calls.Count.ShouldBe(2);
    }

    [Fact]
    public void GetAsync_ForAnIdentityNotAcquired_Throws()
    {
        Should.Throw<InvalidOperationException>(() => _manager.GetAsync(Sleep));
    }

    public void Dispose()
    {
        _manager.Dispose();
        _realCa.Dispose();
    }
}
