using System.Net;
using Ztunnel.Capture.Registration;
using Ztunnel.Discovery;

namespace Ztunnel.Tests.Admin;

public sealed class ReadinessEndpointTests : IAsyncLifetime
{
    private AdminFixture _fixture = null!;

    public async Task InitializeAsync() => _fixture = await AdminFixture.StartAsync();

    public async Task DisposeAsync() => await _fixture.DisposeAsync();

    [Fact]
    public async Task NotReady_UntilConfigLoaded_ThenReady()
    {
        (HttpStatusCode status, string body) = await ProbeAsync();
        status.ShouldBe(HttpStatusCode.ServiceUnavailable);
        body.ShouldContain("configuration not loaded");

        _fixture.Store.Publish(MeshState.Empty);

        (status, body) = await ProbeAsync();
        status.ShouldBe(HttpStatusCode.OK);
        body.ShouldBe("ready\n");
    }

    [Fact]
    public async Task PendingPod_Is503NamingIt_UntilItIsUp()
    {
        _fixture.Store.Publish(MeshState.Empty);
        Task<PodStatus> adding = _fixture.Registry.AddAsync(AdminEndpointTests.Pod("uid-slow"), CancellationToken.None);
        await _fixture.Lifecycle.Started.WaitAsync(TimeSpan.FromSeconds(30));

        (HttpStatusCode status, string body) = await ProbeAsync();
        status.ShouldBe(HttpStatusCode.ServiceUnavailable);
        body.ShouldContain("app/slow (uid-slow): pending");

        _fixture.Lifecycle.Release();
        (await adding.WaitAsync(TimeSpan.FromSeconds(30))).State.ShouldBe(PodState.Ready);

        (status, _) = await ProbeAsync();
        status.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task FailedPod_Is503WithTheReason()
    {
        _fixture.Store.Publish(MeshState.Empty);
        _fixture.Lifecycle.FailWith = "iptables-restore: exit 4";
        _fixture.Lifecycle.Release();
        (await _fixture.Registry.AddAsync(AdminEndpointTests.Pod("uid-broken"), CancellationToken.None)).State.ShouldBe(PodState.Failed);

        (HttpStatusCode status, string body) = await ProbeAsync();
        status.ShouldBe(HttpStatusCode.ServiceUnavailable);
        body.ShouldContain("app/broken (uid-broken): failed: iptables-restore: exit 4");
    }

    [Fact]
    public async Task Draining_IsNotReady()
    {
        _fixture.Store.Publish(MeshState.Empty);
        var draining = new Ztunnel.Admin.ReadinessEndpoint(_fixture.Store, _fixture.Registry.List, () => true);

        draining.NotReady().ShouldBe(["draining: the daemon is shutting down"]);
    }

    [Fact]
    public async Task Post_Is405_WithAllow()
    {
        using HttpResponseMessage response = await _fixture.Readiness.PostAsync("/healthz/ready", null);

        response.StatusCode.ShouldBe(HttpStatusCode.MethodNotAllowed);
        string.Join(", ", response.Content.Headers.Allow).ShouldBe("GET, HEAD");
    }

    private async Task<(HttpStatusCode, string)> ProbeAsync()
    {
        using HttpResponseMessage response = await _fixture.Readiness.GetAsync("/healthz/ready");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
