using System.CommandLine;

namespace Ztunnel.Tests.Discovery;

public sealed class ConfigCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private static (int Exit, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = Ztunnel.Cli.CommandLine.Build().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public void ConfigCheck_Example_IsOk()
    {
        var (exit, output, error) = Run("config", "check", TestPaths.ExampleConfig);

        exit.ShouldBe(0, error);
        output.ShouldContain("OK: node node-a, trust domain cluster.local, 4 workloads (2 on this node), 1 services, 1 AuthorizationPolicies, 1 PeerAuthentications");
    }

    [Fact]
    public void ConfigCheck_BadFile_PrintsEveryErrorWithLine_AndFails()
    {
        File.WriteAllText(_dir.File("bad.yaml"), "logLevel: loud\nworkloads:\n  - uid: a\n    name: a\n    namespace: ns\n    ips: [x]\n");

        var (exit, _, error) = Run("config", "check", _dir.File("bad.yaml"));

        exit.ShouldBe(1);
        error.ShouldContain($"error: {_dir.File("bad.yaml")}:1: logLevel: 'loud' is not a log level");
        error.ShouldContain($"error: {_dir.File("bad.yaml")}:6: workloads[0].ips[0]: 'x' is not an IP address");
        error.ShouldContain("2 error(s)");
    }

    public void Dispose() => _dir.Dispose();
}
