using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Ztunnel.Admin;
using Ztunnel.Capture.Registration;
using Ztunnel.Discovery;
using Ztunnel.Tests.Telemetry;

namespace Ztunnel.Tests.Admin;

public sealed class AdminEndpointTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Expiry = new(2026, 11, 22, 8, 0, 0, TimeSpan.Zero);
    private AdminFixture _fixture = null!;

    public async Task InitializeAsync()
    {
        _fixture = await AdminFixture.StartAsync([new ConfigDump.CertificateEntry("spiffe://cluster.local/ns/app/sa/sleep", "valid", Expiry.AddDays(-1), Expiry)]);
    }

    public async Task DisposeAsync() => await _fixture.DisposeAsync();

    [Fact]
    public async Task ConfigDump_ShowsWorkloadsServicesPoliciesCertificatesAndPods()
    {
        _fixture.Store.Publish(new MeshState([TelemetryFixture.Sleep, TelemetryFixture.Httpbin], [TelemetryFixture.HttpbinService],
            Ztunnel.Authorization.PolicySet.Empty));
        _fixture.Lifecycle.Release();
        await _fixture.Registry.AddAsync(Pod("uid-sleep"), CancellationToken.None);

        using HttpResponseMessage response = await _fixture.Admin.GetAsync("/config_dump");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/json");
        using JsonDocument dump = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        JsonElement root = dump.RootElement;

        root.GetProperty("node").GetString().ShouldBe("node-1");
        root.GetProperty("configLoaded").GetBoolean().ShouldBeTrue();
        JsonElement sleep = root.GetProperty("workloads").EnumerateArray().Single(w => w.GetProperty("name").GetString() == "sleep");
        sleep.GetProperty("addresses")[0].GetString().ShouldBe("10.0.0.1");
        sleep.GetProperty("serviceAccount").GetString().ShouldBe("sleep");
        sleep.GetProperty("protocol").GetString().ShouldBe("HBONE");
        JsonElement service = root.GetProperty("services").EnumerateArray().Single();
        service.GetProperty("hostname").GetString().ShouldBe("httpbin.web.svc.cluster.local");
        service.GetProperty("ports")[0].GetProperty("targetPort").GetInt32().ShouldBe(8080);
        root.GetProperty("policies").GetArrayLength().ShouldBe(0);
        JsonElement certificate = root.GetProperty("certificates").EnumerateArray().Single();
        certificate.GetProperty("identity").GetString().ShouldBe("spiffe://cluster.local/ns/app/sa/sleep");
        certificate.GetProperty("notAfter").GetDateTimeOffset().ShouldBe(Expiry);
        JsonElement pod = root.GetProperty("pods").EnumerateArray().Single();
        pod.GetProperty("uid").GetString().ShouldBe("uid-sleep");
        pod.GetProperty("state").GetString().ShouldBe("ready");
    }

    [Fact]
    public async Task ConfigDump_ListsPolicies()
    {
        Ztunnel.Authorization.PolicySet policies = PolicyFixtureFor("""
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: no-sleep, namespace: web}
            spec:
              action: DENY
              rules:
              - from:
                - source: {principals: ["cluster.local/ns/app/sa/sleep"]}
            """);
        _fixture.Store.Publish(new MeshState([], [], policies));

        using JsonDocument dump = JsonDocument.Parse(await _fixture.Admin.GetStringAsync("/config_dump"));
        JsonElement policy = dump.RootElement.GetProperty("policies").EnumerateArray().Single();
        policy.GetProperty("kind").GetString().ShouldBe("AuthorizationPolicy");
        policy.GetProperty("name").GetString().ShouldBe("no-sleep");
        policy.GetProperty("action").GetString().ShouldBe("DENY");
        policy.GetProperty("rules").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task Logging_ReadsAndChangesTheLevelAtRunTime()
    {
        (await _fixture.Admin.GetStringAsync("/logging")).ShouldContain("\"level\": \"info\"");

        using HttpResponseMessage changed = await _fixture.Admin.PostAsync("/logging?level=debug", null);
        changed.StatusCode.ShouldBe(HttpStatusCode.OK);
        _fixture.Level.MinimumLevel.ShouldBe(LogLevel.Debug);
        (await _fixture.Admin.GetStringAsync("/logging")).ShouldContain("\"level\": \"debug\"");
    }

    [Fact]
    public async Task Logging_UnknownLevel_Is400NamingIt_AndChangesNothing()
    {
        using HttpResponseMessage response = await _fixture.Admin.PostAsync("/logging?level=loud", null);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).ShouldContain("'loud'");
        _fixture.Level.MinimumLevel.ShouldBe(LogLevel.Information);
    }

    [Fact]
    public async Task QuitQuitQuit_Post_StartsTheDrain_Get_DoesNot()
    {
        using HttpResponseMessage get = await _fixture.Admin.GetAsync("/quitquitquit");
        get.StatusCode.ShouldBe(HttpStatusCode.MethodNotAllowed);
        _fixture.QuitCalls.ShouldBe(0);

        using HttpResponseMessage post = await _fixture.Admin.PostAsync("/quitquitquit", null);
        post.StatusCode.ShouldBe(HttpStatusCode.OK);
        _fixture.QuitCalls.ShouldBe(1);
    }

    [Fact]
    public async Task Index_ListsTheEndpoints_UnknownPathIs404()
    {
        string index = await _fixture.Admin.GetStringAsync("/");
        index.ShouldContain("/config_dump");
        index.ShouldContain("/logging");
        index.ShouldContain("/quitquitquit");

        using HttpResponseMessage missing = await _fixture.Admin.GetAsync("/stats");
        missing.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("DELETE", "/logging", "GET, HEAD, POST, PUT")]
    [InlineData("PUT", "/config_dump", "GET, HEAD")]
    [InlineData("HEAD", "/quitquitquit", "POST")]
    public async Task UnsupportedMethod_Is405_WithAllow(string method, string path, string allow)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        using HttpResponseMessage response = await _fixture.Admin.SendAsync(request);

        response.StatusCode.ShouldBe(HttpStatusCode.MethodNotAllowed);
        string.Join(", ", response.Content.Headers.Allow).ShouldBe(allow);
        _fixture.QuitCalls.ShouldBe(0);
    }

    [Fact]
    public async Task Head_ConfigDump_HasTheLengthOfTheGet_AndNoBody()
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, "/config_dump");
        using HttpResponseMessage response = await _fixture.Admin.SendAsync(request);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentLength.ShouldBe((await _fixture.Admin.GetByteArrayAsync("/config_dump")).Length);
        (await response.Content.ReadAsByteArrayAsync()).ShouldBeEmpty();
    }

    internal static PodRegistration Pod(string uid) => new()
    {
        Uid = uid,
        Name = uid.Replace("uid-", "", StringComparison.Ordinal),
        Namespace = "app",
        Netns = "/var/run/netns/telemetry-test-" + uid,
        Ips = ["10.0.0.1"],
    };

    private static Ztunnel.Authorization.PolicySet PolicyFixtureFor(string yaml) =>
        Ztunnel.Tests.Authorization.PolicyFixture.Load(yaml);
}
