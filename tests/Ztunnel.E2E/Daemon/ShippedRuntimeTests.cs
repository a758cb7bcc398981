using Shouldly;
using Ztunnel.E2E.Mesh;

namespace Ztunnel.E2E.Daemon;

/// <summary>
/// How the shipped executable runs, as opposed to what it does: settings whose loss shows only as memory.
/// </summary>
public sealed class ShippedRuntimeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ztunnel-runtime-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// Dynamic code is off: the first YAML document makes YamlDotNet build a <c>RegexOptions.Compiled</c> regex,
    /// which with dynamic code on generates IL through Reflection.Emit and JIT-compiles it (about 300 more
    /// methods and 0.5-1 MiB of RSS per daemon). The runtime's own JIT log (names of compiled methods) shows it.
    /// </summary>
    [Fact]
    public async Task ConfigCheck_ParsesYaml_WithoutGeneratingIl()
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

        string compiled = await File.ReadAllTextAsync(jitLog);
        compiled.ShouldContain("YamlDotNet.Core.Parser"); // the log is real, and the YAML was parsed
        compiled.ShouldNotContain("System.Reflection.Emit");
        compiled.ShouldNotContain("RegexCompiler");
    }
}
