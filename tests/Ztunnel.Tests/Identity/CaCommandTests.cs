using System.CommandLine;
using Ztunnel.Tests.Discovery;

namespace Ztunnel.Tests.Identity;

public sealed class CaCommandTests : IDisposable
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
    public void CaInit_CreatesTheCa_ThenRefusesToOverwriteIt()
    {
        string dir = _dir.File("ca");

        var (exit, output, _) = Run("ca", "init", dir, "--trust-domain", "example.org");
        exit.ShouldBe(0);
        output.ShouldContain($"created CA for trust domain 'example.org' in {dir}");
        File.Exists(Path.Combine(dir, "root-cert.pem")).ShouldBeTrue();
        File.Exists(Path.Combine(dir, "root-key.pem")).ShouldBeTrue();

        var (again, _, error) = Run("ca", "init", dir);
        again.ShouldBe(1);
        error.ShouldContain($"ztunnel ca init: a CA already exists in '{dir}'");

        Run("ca", "init", dir, "--force").Exit.ShouldBe(0);
    }

    [Fact]
    public void CaInit_DefaultTrustDomain_IsClusterLocal()
    {
        Run("ca", "init", _dir.File("ca")).Output.ShouldContain("trust domain 'cluster.local'");
    }

    public void Dispose() => _dir.Dispose();
}
