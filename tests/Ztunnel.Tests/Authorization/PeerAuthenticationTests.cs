using Ztunnel.Authorization;
using static Ztunnel.Tests.Authorization.PolicyFixture;

namespace Ztunnel.Tests.Authorization;

/// <summary>PeerAuthentication at L4: mesh &lt; namespace &lt; workload &lt; workload port; STRICT refuses plaintext.</summary>
public sealed class PeerAuthenticationTests
{
    private const string Identity = "spiffe://cluster.local/ns/client/sa/app";

    private static string Pa(string ns, string name, string? mode, string? selector = null, string? ports = null) =>
        $"""
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata:
          name: {name}
          namespace: {ns}
        spec:
        {(selector is null ? "" : $"  selector:\n    matchLabels:\n      {selector}\n")}{(mode is null ? "" : $"  mtls:\n    mode: {mode}\n")}{(ports is null ? "" : $"  portLevelMtls:\n{ports}")}
        ---

        """;

    private static string Port(int port, string mode) => $"    {port}:\n      mode: {mode}\n";

    public static TheoryData<string, string, int, bool, string?> PlaintextCases() => new()
    {
        // name, yaml, port, allowed, deciding policy
        { "no policy: permissive", "", 80, true, null },
        { "mesh STRICT", Pa("istio-system", "mesh", "STRICT"), 80, false, "istio-system/mesh" },
        { "mesh PERMISSIVE", Pa("istio-system", "mesh", "PERMISSIVE"), 80, true, null },
        { "namespace PERMISSIVE overrides mesh STRICT", Pa("istio-system", "mesh", "STRICT") + Pa("foo", "ns", "PERMISSIVE"), 80, true, null },
        { "namespace UNSET inherits mesh STRICT", Pa("istio-system", "mesh", "STRICT") + Pa("foo", "ns", "UNSET"), 80, false, "istio-system/mesh" },
        { "namespace STRICT over mesh PERMISSIVE", Pa("istio-system", "mesh", "PERMISSIVE") + Pa("foo", "ns", "STRICT"), 80, false, "foo/ns" },
        { "other namespace STRICT does not apply", Pa("bar", "ns", "STRICT"), 80, true, null },
        { "workload STRICT over namespace PERMISSIVE", Pa("foo", "ns", "PERMISSIVE") + Pa("foo", "wl", "STRICT", "app: db"), 80, false, "foo/wl" },
        { "workload PERMISSIVE over namespace STRICT", Pa("foo", "ns", "STRICT") + Pa("foo", "wl", "PERMISSIVE", "app: db"), 80, true, null },
        { "workload selector not matching", Pa("foo", "wl", "STRICT", "app: web"), 80, true, null },
        { "workload UNSET inherits namespace STRICT", Pa("foo", "ns", "STRICT") + Pa("foo", "wl", null, "app: db", Port(8080, "PERMISSIVE")), 80, false, "foo/ns" },
        { "port PERMISSIVE exempts port from namespace STRICT", Pa("foo", "ns", "STRICT") + Pa("foo", "wl", null, "app: db", Port(8080, "PERMISSIVE")), 8080, true, null },
        { "port PERMISSIVE exempts port from workload STRICT", Pa("foo", "wl", "STRICT", "app: db", Port(8080, "PERMISSIVE")), 8080, true, null },
        { "other ports keep workload STRICT", Pa("foo", "wl", "STRICT", "app: db", Port(8080, "PERMISSIVE")), 9090, false, "foo/wl" },
        { "port STRICT on permissive workload", Pa("foo", "wl", "PERMISSIVE", "app: db", Port(5432, "STRICT")), 5432, false, "foo/wl" },
        { "port STRICT leaves other ports permissive", Pa("foo", "wl", "PERMISSIVE", "app: db", Port(5432, "STRICT")), 80, true, null },
        { "port UNSET inherits workload STRICT", Pa("foo", "wl", "STRICT", "app: db", Port(5432, "UNSET")), 5432, false, "foo/wl" },
        { "port DISABLE is permissive", Pa("foo", "wl", "STRICT", "app: db", Port(5432, "DISABLE")), 5432, true, null },
        { "namespace DISABLE is permissive", Pa("istio-system", "mesh", "STRICT") + Pa("foo", "ns", "DISABLE"), 80, true, null },
        { "root namespace selector ignored", Pa("istio-system", "mesh-db", "STRICT", "app: db"), 80, true, null },
    };

    [Theory]
    [MemberData(nameof(PlaintextCases))]
    public void Plaintext_EffectiveMode_DecidesByPrecedence(string name, string yaml, int port, bool allowed, string? policy)
    {
        var decision = AuthorizationEvaluator.Evaluate(Load(yaml), Request("foo", "app=db", port, null));
        decision.Allowed.ShouldBe(allowed, name + "\n" + string.Join('\n', decision.Explain()));
        if (!allowed)
        {
            decision.Reason.ShouldBe(DecisionReason.StrictMtlsRequired);
            decision.DecidingPolicy?.ToString().ShouldBe(policy);
        }
    }

    [Fact]
    public void Strict_WithPeerIdentity_Allows()
    {
        var decision = Evaluate(Pa("istio-system", "mesh", "STRICT"), Request("foo", "", 80, Identity));
        decision.Allowed.ShouldBeTrue();
        decision.Reason.ShouldBe(DecisionReason.AllowedNoPolicy);
    }

    [Fact]
    public void Strict_Plaintext_ExplainsPeerAuthentication()
    {
        var decision = Evaluate(Pa("foo", "wl", "PERMISSIVE", "app: db", Port(5432, "STRICT")), Request("foo", "app=db", 5432, null));
        var lines = decision.Explain();
        lines[0].ShouldContain("PeerAuthentication foo/wl requires mTLS (STRICT)");
        lines.ShouldContain(l => l.Contains("workload, port level", StringComparison.Ordinal));
    }

    [Fact]
    public void RootNamespaceSelector_IsReportedAsIgnored()
    {
        var set = Load(Pa("istio-system", "mesh-db", "STRICT", "app: db"));
        set.Warnings.ShouldHaveSingleItem().Message.ShouldContain("root namespace is ignored");
    }

    [Fact]
    public void Strict_DeniesBeforeAllowAllPolicy()
    {
        const string allowAll = """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: allow-all, namespace: foo}
            spec:
              rules: [{}]
            ---

            """;
        var decision = Evaluate(allowAll + Pa("foo", "ns", "STRICT"), Request("foo", "", 80, null));
        decision.Reason.ShouldBe(DecisionReason.StrictMtlsRequired);
    }
}
