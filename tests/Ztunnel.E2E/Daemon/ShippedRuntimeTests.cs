using Shouldly;
using Ztunnel.E2E.Mesh;

namespace Ztunnel.E2E.Daemon;

/// <summary>
/// How the shipped executable runs, as opposed to what it does: properties whose loss shows only as memory.
/// </summary>
public sealed class ShippedRuntimeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ztunnel-runtime-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// The shipped daemon is compiled ahead of time: it parses its YAML (YamlDotNet, System.Text.Json, the CLI)
    /// with no JIT behind it. A JIT build writes the runtime's JIT log for the methods it compiles; the NativeAOT
    /// executable has no JIT to write one. Losing NativeAOT costs ~20 MiB of RSS per daemon (docs/performance.md).
    /// Against the `make build` output (ZTUNNEL_BINARY unset, a JIT build) only the parse is checked.
    /// </summary>
    [Fact]
    public async Task ConfigCheck_ParsesYaml_WithNoJitBehindIt()
    {
        string config = Path.Combine(_dir, "config.yaml");
        await File.WriteAllTextAsync(config, """
            nodeName: node-a
            trustDomain: cluster.local
            workloads:
              - {uid: c-1, name: client, namespace: bench, serviceAccount: client, ips: [10.10.1.10], node: node-a}
            """);
        string jitLog = Path.Combine(_dir, "jit.txt");
        var environment = new Dictionary<string, string>
        {
            ["DOTNET_JitStdOutFile"] = jitLog,
            ["DOTNET_JitDisasmSummary"] = "1",
        };
        (int exitCode, string stdout, string stderr) = await ProcessRunner.RunAsync(ZtunnelBinary.Path, environment, "config", "check", config);
        exitCode.ShouldBe(0, stdout + stderr);
        stdout.ShouldContain("OK: node node-a, trust domain cluster.local, 1 workloads");
        if (ZtunnelBinary.IsOverridden)
        {
            File.Exists(jitLog).ShouldBeFalse("the shipped daemon JIT-compiled methods: it is not the NativeAOT build");
        }
    }
}
