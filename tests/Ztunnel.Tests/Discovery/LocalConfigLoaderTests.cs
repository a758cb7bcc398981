using System.Net;
using Microsoft.Extensions.Logging;
using Ztunnel.Discovery;

namespace Ztunnel.Tests.Discovery;

public sealed class LocalConfigLoaderTests
{
    [Fact]
    public void ExampleConfig_Parses_WithEverySection()
    {
        var config = LocalConfigLoader.LoadFile(TestPaths.ExampleConfig);

        config.Warnings.ShouldBeEmpty();
        config.Settings.NodeName.ShouldBe("node-a");
        config.Settings.TrustDomain.ShouldBe("cluster.local");
        config.Settings.CertificateLifetime.ShouldBe(TimeSpan.FromHours(24));
        config.Settings.AdminAddress.ShouldBe(IPEndPoint.Parse("127.0.0.1:15000"));
        config.Settings.AccessLog.ShouldBe(AccessLogFormat.Text);
        config.Settings.CaDirectory.ShouldBe(Path.Combine(TestPaths.RepositoryRoot(), "examples", "ca"));

        var state = config.State;
        state.Workloads.Count.ShouldBe(4);
        state.FindWorkload(IPAddress.Parse("10.10.2.30"))!.Protocol.ShouldBe(WorkloadProtocol.Tcp);
        state.FindWorkload(IPAddress.Parse("10.10.1.10"))!.GetIdentity(config.Settings.TrustDomain).ToString()
            .ShouldBe("spiffe://cluster.local/ns/demo/sa/sleep");
        state.WorkloadsOnNode("node-b").Select(w => w.Uid).ShouldBe(["echo-2", "legacy-db"]);

        var (service, port) = state.FindService(IPAddress.Parse("10.96.0.20"), 80)!.Value;
        service.Name.ShouldBe("echo");
        port.TargetPort.ShouldBe(8080);
        service.Endpoints.Count.ShouldBe(2);
        service.Endpoints.Single(e => e.WorkloadUid == "echo-2").Healthy.ShouldBeFalse();
        service.Endpoints.Single(e => e.WorkloadUid == "echo-1").Weight.ShouldBe(3);
        state.ServicesOf("echo-1").ShouldBe([service]);

        state.Policies.AuthorizationPolicies.ShouldHaveSingleItem().Ref.ToString().ShouldBe("demo/echo-allow-sleep");
        state.Policies.PeerAuthentications.ShouldHaveSingleItem().Ref.ToString().ShouldBe("demo/strict");
        state.Policies.RootNamespace.ShouldBe("istio-system");
    }

    [Fact]
    public void InlinePolicyError_IsReported_AtItsLineInTheConfigFile()
    {
        string yaml = """
            nodeName: n
            policies:
              - apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: p, namespace: ns}
                spec:
                  action: MAYBE
            """;

        var e = Should.Throw<ConfigException>(() => LocalConfigLoader.Parse(yaml, "c.yaml"));

        var error = e.Errors.ShouldHaveSingleItem();
        error.Source.ShouldBe("c.yaml");
        error.Line.ShouldBe(7);
        error.ToString().ShouldBe("c.yaml:7: AuthorizationPolicy ns/p: spec.action: 'MAYBE' is not an action (ALLOW, DENY, AUDIT or CUSTOM)");
    }

    [Fact]
    public void PolicyPaths_LoadFilesAndDirectories_RelativeToTheConfig()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("policies"));
        File.WriteAllText(dir.File("policies/a.yaml"), "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a, namespace: ns}\nspec: {action: DENY, rules: [{}]}\n");
        File.WriteAllText(dir.File("peer.yaml"), "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: strict, namespace: ns}\nspec: {mtls: {mode: STRICT}}\n");
        File.WriteAllText(dir.File("ztunnel.yaml"), "policyPaths: [policies, peer.yaml]\n");

        var config = LocalConfigLoader.LoadFile(dir.File("ztunnel.yaml"));

        config.State.Policies.AuthorizationPolicies.ShouldHaveSingleItem().Ref.ToString().ShouldBe("ns/a");
        config.State.Policies.PeerAuthentications.ShouldHaveSingleItem().Ref.ToString().ShouldBe("ns/strict");
    }

    [Fact]
    public void PolicyFileError_NamesThePolicyFile()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("bad.yaml"), "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a, namespace: ns}\nspec:\n  action: MAYBE\n");
        File.WriteAllText(dir.File("ztunnel.yaml"), "policyPaths: [bad.yaml]\n");

        var e = Should.Throw<ConfigException>(() => LocalConfigLoader.LoadFile(dir.File("ztunnel.yaml")));

        var error = e.Errors.ShouldHaveSingleItem();
        error.Source.ShouldEndWith("bad.yaml");
        error.Line.ShouldBe(5);
        error.ToString().ShouldEndWith("bad.yaml:5: AuthorizationPolicy ns/a: spec.action: 'MAYBE' is not an action (ALLOW, DENY, AUDIT or CUSTOM)");
    }

    [Fact]
    public void EmptyFile_GivesDefaults()
    {
        var config = LocalConfigLoader.Parse("", "empty.yaml");

        config.Settings.TrustDomain.ShouldBe("cluster.local");
        config.Settings.CertificateLifetime.ShouldBe(TimeSpan.FromHours(24));
        config.Settings.RegistrationSocket.ShouldBe("/var/run/ztunnel/cni.sock");
        config.Settings.AdminAddress.ShouldBe(IPEndPoint.Parse("127.0.0.1:15000"));
        config.Settings.MetricsAddress.ShouldBe(IPEndPoint.Parse("0.0.0.0:15020"));
        config.Settings.ReadinessAddress.ShouldBe(IPEndPoint.Parse("0.0.0.0:15021"));
        config.Settings.RootNamespace.ShouldBe("istio-system");
        config.Settings.ClusterId.ShouldBe("Kubernetes");
        config.Settings.LogLevel.ShouldBe(LogLevel.Information);
        config.State.Workloads.ShouldBeEmpty();
    }

    [Fact]
    public void ClusterId_IsRead_AndEmptyIsAnError()
    {
        LocalConfigLoader.Parse("clusterId: east-1\n", "c.yaml").Settings.ClusterId.ShouldBe("east-1");

        var e = Should.Throw<ConfigException>(() => LocalConfigLoader.Parse("clusterId: \"\"\n", "c.yaml"));

        e.Errors.ShouldHaveSingleItem().ToString().ShouldStartWith("c.yaml:1: clusterId: is empty");
    }

    private const string TwoWorkloads = """
        workloads:
          - uid: a
            name: a
            namespace: ns
            ips: [10.0.0.1]
          - uid: b
            name: b
            namespace: ns
            ips: [10.0.0.2]
        """;

    [Theory]
    [InlineData("workloads:\n  - uid: a\n    name: a\n    namespace: ns\n    ips: [10.0.0.1]\n  - uid: b\n    name: b\n    namespace: ns\n    ips: [x]\n",
        "c.yaml:9: workloads[1].ips[0]: 'x' is not an IP address")]
    [InlineData("workloads:\n  - uid: a\n    name: a\n    namespace: ns\n  - uid: a\n    name: b\n    namespace: ns\n",
        "c.yaml:5: workloads[1].uid: duplicate uid 'a' (first used at line 2)")]
    [InlineData("workloads:\n  - uid: a\n    name: a\n    namespace: ns\n    protocol: UDP\n",
        "c.yaml:5: workloads[0].protocol: unknown protocol 'UDP' (HBONE or TCP)")]
    [InlineData("workloads:\n  - uid: a\n    namespace: ns\n",
        "c.yaml:2: workloads[0].name: is required")]
    [InlineData("workloads:\n  - uid: a\n    name: a\n    namespace: ns\n    ips: [10.0.0.1]\n  - uid: b\n    name: b\n    namespace: ns\n    ips: [10.0.0.1]\n",
        "c.yaml:9: workloads[1].ips[0]: address 10.0.0.1 is already used by workload 'a'")]
    [InlineData("services:\n  - name: s\n    namespace: ns\n    endpoints:\n      - workload: ghost\n",
        "c.yaml:5: services[0].endpoints[0].workload: unknown workload uid 'ghost' (not in workloads:)")]
    [InlineData("services:\n  - name: s\n    namespace: ns\n    ports:\n      - port: 70000\n",
        "c.yaml:5: services[0].ports[0].port: 70000 is out of range (1..65535)")]
    [InlineData("services:\n  - name: s\n    namespace: ns\n    ports:\n      - port: 80\n        targetPort: http\n",
        "c.yaml:6: services[0].ports[0].targetPort: 'http' is not an integer")]
    [InlineData("services:\n  - name: s\n    namespace: ns\n    vips: [10.96.0.300]\n",
        "c.yaml:4: services[0].vips[0]: '10.96.0.300' is not an IP address")]
    [InlineData("certificateLifetime: forever\n",
        "c.yaml:1: certificateLifetime: 'forever' is not a duration of at least 2m (e.g. 24h, 90m, 1h30m)")]
    [InlineData("nodeName: n\nadminAddress: localhost\n",
        "c.yaml:2: adminAddress: 'localhost' is not an address of the form ip:port (e.g. 127.0.0.1:15000 or [::1]:15000)")]
    [InlineData("trustDomain: Cluster.Local\n",
        "c.yaml:1: trustDomain: trust domain 'Cluster.Local' has the character 'C' (allowed: a-z 0-9 . - _)")]
    [InlineData("logLevel: loud\n",
        "c.yaml:1: logLevel: 'loud' is not a log level (trace, debug, info, warn, error, off)")]
    [InlineData("workloads: {uid: a}\n",
        "c.yaml:1: workloads: must be a list, not a mapping")]
    [InlineData("workloads:\n  - uid: a\n    name: a: b\n",
        "c.yaml:3: not valid YAML")]
    [InlineData("nodeName: a\nnodeName: b\n",
        "c.yaml:2: not valid YAML")]
    [InlineData("workloads:\n  - uid: \"\"\n    name: a\n    namespace: ns\n",
        "c.yaml:2: workloads[0].uid: is empty")]
    [InlineData("workloads:\n  - uid: a\n    name: a\n    namespace: my ns\n",
        "c.yaml:2: workloads[0]: namespace 'my ns' has the character ' '")]
    public void BadInput_IsReported_WithFileLineAndPath(string yaml, string expected)
    {
        var e = Should.Throw<ConfigException>(() => LocalConfigLoader.Parse(yaml, "c.yaml"));

        e.Errors.Select(x => x.ToString()).ShouldContain(x => x.StartsWith(expected, StringComparison.Ordinal),
            $"errors were:\n{e.Message}");
    }

    [Fact]
    public void EndpointIp_NotOfItsWorkload_IsReported()
    {
        string yaml = TwoWorkloads + "\nservices:\n  - name: s\n    namespace: ns\n    endpoints:\n      - workload: a\n        ip: 10.0.0.2\n";

        var e = Should.Throw<ConfigException>(() => LocalConfigLoader.Parse(yaml, "c.yaml"));

        e.Errors.ShouldHaveSingleItem().ToString().ShouldBe("c.yaml:15: services[0].endpoints[0].ip: 10.0.0.2 is not an address of workload 'a'");
    }

    [Fact]
    public void SeveralErrors_AreAllReported()
    {
        string yaml = "logLevel: loud\nworkloads:\n  - uid: a\n    name: a\n    namespace: ns\n    ips: [x, y]\n    protocol: QUIC\n";

        var e = Should.Throw<ConfigException>(() => LocalConfigLoader.Parse(yaml, "c.yaml"));

        e.Errors.Select(x => x.Line).ShouldBe([1, 6, 6, 7]);
    }

    [Fact]
    public void UnknownKey_IsAWarning_WithLine()
    {
        string yaml = TwoWorkloads.Replace("    ips: [10.0.0.2]", "    ips: [10.0.0.2]\n    serviceAcount: typo", StringComparison.Ordinal);

        var config = LocalConfigLoader.Parse(yaml, "c.yaml");

        config.State.Workloads.Count.ShouldBe(2);
        var warning = config.Warnings.ShouldHaveSingleItem();
        warning.Line.ShouldBe(10);
        warning.ToString().ShouldStartWith("c.yaml:10: workloads[1]: unknown key 'serviceAcount'");
    }

    [Fact]
    public void PolicyPath_ThatDoesNotExist_IsReported()
    {
        var e = Should.Throw<ConfigException>(() => LocalConfigLoader.Parse("policyPaths: [nowhere.yaml]\n", "c.yaml", "/tmp"));

        e.Errors.ShouldHaveSingleItem().ToString().ShouldBe("c.yaml:1: policyPaths[0]: 'nowhere.yaml' does not exist (resolved to /tmp/nowhere.yaml)");
    }

    [Fact]
    public void InlinePolicyText_KeepsItsLineAndColumn_ForThePolicyLoader()
    {
        string yaml = "nodeName: n\npolicies:\n  - kind: A\n    metadata:\n      name: x\n  - {kind: B}\n";
        var stream = new YamlDotNet.RepresentationModel.YamlStream();
        stream.Load(new StringReader(yaml));
        var list = (YamlDotNet.RepresentationModel.YamlSequenceNode)((YamlDotNet.RepresentationModel.YamlMappingNode)stream.Documents[0].RootNode)["policies"];

        foreach (var item in list.Children)
        {
            var again = new YamlDotNet.RepresentationModel.YamlStream();
            again.Load(new StringReader(LocalConfigLoader.SliceAtSamePosition(yaml, item)));
            var reparsed = (YamlDotNet.RepresentationModel.YamlMappingNode)again.Documents.ShouldHaveSingleItem().RootNode;
            reparsed.Start.Line.ShouldBe(item.Start.Line);
            reparsed.Start.Column.ShouldBe(item.Start.Column);
            reparsed.Children.Count.ShouldBe(((YamlDotNet.RepresentationModel.YamlMappingNode)item).Children.Count);
        }
    }
}
