using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Capture.Cni;
using Ztunnel.Capture.Registration;

namespace Ztunnel.Tests.Capture;

public sealed class CniPluginTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ztunnel-cni-").FullName;
    private readonly RegistrationApiTests.RecordingLifecycle _lifecycle = new();
    private PodRegistry _registry = null!;
    private RegistrationApi _api = null!;

    public Task InitializeAsync()
    {
        _registry = new PodRegistry(_lifecycle, NullLogger<PodRegistry>.Instance);
        _api = RegistrationApi.Start(Path.Combine(_dir, "cni.sock"), _registry, NullLoggerFactory.Instance);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _registry.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private string Config(bool withPrevResult = true, string? socket = null) => new JsonObject
    {
        ["cniVersion"] = "1.0.0",
        ["name"] = "k8s-pod-network",
        ["type"] = "ztunnel",
        ["socketPath"] = socket ?? _api.SocketPath,
        ["prevResult"] = withPrevResult
            ? JsonNode.Parse("""{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/var/run/netns/p1"}],"ips":[{"address":"10.244.1.7/24","gateway":"10.244.1.1","interface":0}]}""")
            : null,
    }.ToJsonString();

    private static Func<string, string?> Env(string command) => name => name switch
    {
        "CNI_COMMAND" => command,
        "CNI_CONTAINERID" => "sandbox-123",
        "CNI_NETNS" => "/var/run/netns/p1",
        "CNI_IFNAME" => "eth0",
        "CNI_ARGS" => "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0;K8S_POD_UID=uid-7",
        _ => null,
    };

    private static async Task<(int Code, string Stdout)> RunAsync(string command, string config)
    {
        var stdout = new StringWriter();
        int code = await new CniPlugin().RunAsync(Env(command), new StringReader(config), stdout, new StringWriter());
        return (code, stdout.ToString());
    }

    [Fact]
    public async Task Add_RegistersPodWithItsIpsAndPassesPrevResultThrough()
    {
        var (code, stdout) = await RunAsync("ADD", Config());

        code.ShouldBe(0);
        var result = JsonNode.Parse(stdout)!;
        result["ips"]![0]!["address"]!.GetValue<string>().ShouldBe("10.244.1.7/24");
        result["interfaces"]![0]!["name"]!.GetValue<string>().ShouldBe("eth0");
        var pod = _registry.Find("uid-7")!.Pod;
        pod.Ips.ShouldBe(["10.244.1.7"]);
        pod.Netns.ShouldBe("/var/run/netns/p1");
        pod.Name.ShouldBe("web-0");
        pod.Namespace.ShouldBe("shop");
    }

    [Fact]
    public async Task Add_WithoutPrevResult_IsConfigError()
    {
        var (code, stdout) = await RunAsync("ADD", Config(withPrevResult: false));

        code.ShouldBe(1);
        var error = JsonNode.Parse(stdout)!;
        error["code"]!.GetValue<int>().ShouldBe((int)CniErrorCode.InvalidNetworkConfig);
        error["msg"]!.GetValue<string>().ShouldContain("chained plugin");
    }

    [Fact]
    public async Task Add_DaemonNotRunning_IsTryAgainLater()
    {
        var (code, stdout) = await RunAsync("ADD", Config(socket: Path.Combine(_dir, "nobody.sock")));

        code.ShouldBe(1);
        JsonNode.Parse(stdout)!["code"]!.GetValue<int>().ShouldBe((int)CniErrorCode.TryAgainLater);
    }

    [Fact]
    public async Task Del_RemovesThePod_AndSucceedsWhenDaemonIsGone()
    {
        await RunAsync("ADD", Config());

        (await RunAsync("DEL", Config())).Code.ShouldBe(0);
        _registry.Find("uid-7").ShouldBeNull();
        (await RunAsync("DEL", Config(socket: Path.Combine(_dir, "nobody.sock")))).Code.ShouldBe(0);
    }

    [Fact]
    public async Task Check_UnknownPod_IsUnknownContainer()
    {
        var (code, stdout) = await RunAsync("CHECK", Config());

        code.ShouldBe(1);
        JsonNode.Parse(stdout)!["code"]!.GetValue<int>().ShouldBe((int)CniErrorCode.UnknownContainer);
        await RunAsync("ADD", Config());
        (await RunAsync("CHECK", Config())).Code.ShouldBe(0);
    }

    [Fact]
    public async Task Version_ListsSupportedVersions()
    {
        var (code, stdout) = await RunAsync("VERSION", "");

        code.ShouldBe(0);
        JsonNode.Parse(stdout)!["supportedVersions"]!.AsArray().Select(v => v!.GetValue<string>()).ShouldContain("1.0.0");
    }

    [Fact]
    public async Task BadStdin_IsDecodeError()
    {
        var (code, stdout) = await RunAsync("ADD", "{oops");

        code.ShouldBe(1);
        JsonNode.Parse(stdout)!["code"]!.GetValue<int>().ShouldBe((int)CniErrorCode.DecodeFailure);
    }
}
