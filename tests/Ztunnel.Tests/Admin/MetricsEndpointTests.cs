using System.Net;
using Ztunnel.Capture.Registration;
using Ztunnel.Telemetry;
using Ztunnel.Tests.Telemetry;

namespace Ztunnel.Tests.Admin;

public sealed class MetricsEndpointTests : IAsyncLifetime
{
    private AdminFixture _fixture = null!;

    public async Task InitializeAsync() => _fixture = await AdminFixture.StartAsync();

    public async Task DisposeAsync() => await _fixture.DisposeAsync();

    [Theory]
    [InlineData("/metrics")]
    [InlineData("/stats/prometheus")]
    public async Task Scrape_ServesTheExposition_WithPrometheusContentType(string path)
    {
        _fixture.Metrics.Add(new ProcessMetrics("1.2.3"));

        using HttpResponseMessage response = await _fixture.MetricsClient.GetAsync(path);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.ToString().ShouldBe("text/plain; version=0.0.4; charset=utf-8");
        var scrape = new Exposition(await response.Content.ReadAsStringAsync());
        scrape.Value("istio_build", ("component", "ztunnel"), ("tag", "1.2.3")).ShouldBe(1);
        scrape.Value("process_open_fds").ShouldBeGreaterThan(0);
        scrape.Value("process_resident_memory_bytes").ShouldBeGreaterThan(0);
        scrape.Value("process_cpu_seconds_total").ShouldBeGreaterThan(0);
        scrape.Types["dotnet_collection_count_total"].ShouldBe("counter");
        // This test process has compiled methods before the scrape: the JIT counters are live, not zeros.
        scrape.Value("dotnet_jit_methods_compiled_total").ShouldBeGreaterThan(0);
        scrape.Value("dotnet_jit_compilation_seconds_total").ShouldBeGreaterThan(0);
        // The test itself runs on pool threads, and the endpoint hands each connection to the pool: both are live.
        scrape.Value("dotnet_threadpool_threads").ShouldBeGreaterThan(0);
        scrape.Value("dotnet_threadpool_completed_items_total").ShouldBeGreaterThan(0);
    }

    [Fact]
    public async Task PodGauges_FollowTheRegistry()
    {
        _fixture.Metrics.Add(new PodMetrics(_fixture.Registry.List));
        Task<PodStatus> adding = _fixture.Registry.AddAsync(AdminEndpointTests.Pod("uid-a"), CancellationToken.None);
        await _fixture.Lifecycle.Started.WaitAsync(TimeSpan.FromSeconds(30));

        var pending = new Exposition(await _fixture.MetricsClient.GetStringAsync("/metrics"));
        pending.Value("workload_manager_pending_proxy_count").ShouldBe(1);
        pending.Value("workload_manager_active_proxy_count").ShouldBe(0);

        _fixture.Lifecycle.Release();
        await adding.WaitAsync(TimeSpan.FromSeconds(30));
        var ready = new Exposition(await _fixture.MetricsClient.GetStringAsync("/metrics"));
        ready.Value("workload_manager_active_proxy_count").ShouldBe(1);
        ready.Value("ztunnel_pods", ("state", "ready")).ShouldBe(1);
        ready.Value("ztunnel_pods", ("state", "pending")).ShouldBe(0);
    }

    [Fact]
    public async Task ManyScrapes_ShareOneKeptAliveConnection()
    {
        _fixture.Metrics.Add(new ProcessMetrics("1.2.3"));
        for (int i = 0; i < 50; i++)
        {
            new Exposition(await _fixture.MetricsClient.GetStringAsync("/metrics")).Value("istio_build", ("component", "ztunnel"), ("tag", "1.2.3")).ShouldBe(1);
        }
        _fixture.MetricsServer.ConnectionCount.ShouldBe(1);
    }

    [Fact]
    public async Task Post_Is405_WithAllow()
    {
        using HttpResponseMessage response = await _fixture.MetricsClient.PostAsync("/metrics", null);

        response.StatusCode.ShouldBe(HttpStatusCode.MethodNotAllowed);
        string.Join(", ", response.Content.Headers.Allow).ShouldBe("GET, HEAD");
    }

    [Fact]
    public async Task OtherPath_Is404()
    {
        using HttpResponseMessage response = await _fixture.MetricsClient.GetAsync("/");
        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}
