using System.CommandLine;

namespace Ztunnel.Tests.Cli;

/// <summary><c>ztunnel authz check</c> run in-process through the real command tree.</summary>
public sealed class AuthzCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"authz-cli-{Guid.NewGuid():N}");

    public AuthzCommandTests()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "policies.yaml"), """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata:
              name: allow-curl
              namespace: demo
            spec:
              selector:
                matchLabels: {app: httpbin}
              rules:
              - from:
                - source:
                    principals: ["cluster.local/ns/demo/sa/curl"]
                to:
                - operation:
                    ports: ["8000"]
            ---
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: default, namespace: istio-system}
            spec:
              mtls: {mode: STRICT}
            """);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PolicyFile => Path.Combine(_dir, "policies.yaml");

    private static async Task<(int ExitCode, string[] Output, string Error)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exitCode = await Ztunnel.Cli.CommandLine.Build().Parse(args)
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error })
            .WaitAsync(TimeSpan.FromSeconds(30));
        return (exitCode, output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries), error.ToString());
    }

    private string[] Check(params string[] extra) =>
        ["authz", "check", "--policies", PolicyFile, "--dest-namespace", "demo", "--dest-label", "app=httpbin", "--dest-ip", "10.244.1.5", .. extra];

    [Fact]
    public async Task Check_MatchingIdentity_PrintsAllowAndTheDecidingRule()
    {
        var (exitCode, output, _) = await Run(Check("--dest-port", "8000", "--source-identity", "spiffe://cluster.local/ns/demo/sa/curl", "--source-ip", "10.244.2.9"));
        exitCode.ShouldBe(0);
        output[0].ShouldBe("ALLOW");
        output[1].ShouldBe("allowed by ALLOW policy demo/allow-curl rule 0");
        output.ShouldContain(l => l.StartsWith("ALLOW demo/allow-curl (workload, selector {app=httpbin}, ", StringComparison.Ordinal) && l.EndsWith("rule 0 matched", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Check_OtherPort_PrintsDenyNoAllowMatched()
    {
        var (exitCode, output, _) = await Run(Check("--dest-port", "9090", "--source-identity", "spiffe://cluster.local/ns/demo/sa/curl"));
        exitCode.ShouldBe(0);
        output[0].ShouldBe("DENY");
        output[1].ShouldBe("denied: no ALLOW matched");
    }

    [Fact]
    public async Task Check_Plaintext_DeniedByStrictPeerAuthentication()
    {
        var (exitCode, output, _) = await Run(Check("--dest-port", "8000"));
        exitCode.ShouldBe(0);
        output[0].ShouldBe("DENY");
        output[1].ShouldContain("PeerAuthentication istio-system/default requires mTLS (STRICT)");
    }

    [Fact]
    public async Task Check_Directory_LoadsEveryFile()
    {
        var (exitCode, output, _) = await Run(["authz", "check", "--policies", _dir, "--dest-namespace", "other", "--dest-ip", "10.244.1.6", "--dest-port", "80",
            "--source-identity", "spiffe://cluster.local/ns/x/sa/y"]);
        exitCode.ShouldBe(0);
        output[0].ShouldBe("ALLOW");
        output[1].ShouldBe("allowed: no ALLOW policy applies to the workload and no DENY matched");
    }

    [Fact]
    public async Task Check_BadCidr_Exits2NamingFileAndField()
    {
        string bad = Path.Combine(_dir, "bad.yaml");
        File.WriteAllText(bad, """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: ips, namespace: demo}
            spec:
              rules:
              - from:
                - source:
                    ipBlocks: ["10.0.0.0/99"]
            """);
        var (exitCode, output, error) = await Run(["authz", "check", "--policies", bad, "--dest-namespace", "demo", "--dest-ip", "10.244.1.5", "--dest-port", "80"]);
        exitCode.ShouldBe(2);
        output.ShouldBeEmpty();
        error.ShouldContain($"{bad}:8: AuthorizationPolicy demo/ips: spec.rules[0].from[0].source.ipBlocks[0]: '10.0.0.0/99' is not a valid CIDR");
    }

    [Fact]
    public async Task Check_MissingFile_Exits2()
    {
        var (exitCode, _, error) = await Run(["authz", "check", "--policies", Path.Combine(_dir, "missing.yaml"), "--dest-namespace", "demo", "--dest-ip", "10.0.0.1", "--dest-port", "80"]);
        exitCode.ShouldBe(2);
        error.ShouldContain("missing.yaml: no such file or directory");
    }

    [Theory]
    [InlineData("--dest-port", "http", "--dest-port 'http' is not a port number")]
    [InlineData("--dest-port", "0", "--dest-port '0' is not a port number")]
    [InlineData("--source-identity", "cluster.local/ns/a/sa/b", "--source-identity: SPIFFE ID 'cluster.local/ns/a/sa/b' does not start with 'spiffe://'")]
    [InlineData("--source-ip", "10.0.1", "--source-ip '10.0.1' is not an IP address")]
    [InlineData("--dest-label", "app", "--dest-label 'app' is not of the form key=value")]
    [InlineData("--bogus", "x", "unexpected argument '--bogus'")]
    public async Task Check_BadArgument_Exits2WithMessage(string option, string value, string message)
    {
        string[] args = ["authz", "check", "--policies", PolicyFile, "--dest-namespace", "demo", "--dest-ip", "10.0.0.1", .. option == "--dest-port" ? Array.Empty<string>() : ["--dest-port", "80"], option, value];
        var (exitCode, _, error) = await Run(args);
        exitCode.ShouldBe(2);
        error.ShouldContain(message);
    }

    [Fact]
    public async Task Check_MissingRequiredOption_Exits2()
    {
        var (exitCode, _, error) = await Run(["authz", "check", "--policies", PolicyFile, "--dest-ip", "10.0.0.1", "--dest-port", "80"]);
        exitCode.ShouldBe(2);
        error.ShouldContain("--dest-namespace is required");
    }
}
