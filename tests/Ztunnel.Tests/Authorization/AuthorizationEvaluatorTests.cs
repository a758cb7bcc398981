using Ztunnel.Authorization;
using static Ztunnel.Tests.Authorization.PolicyFixture;

namespace Ztunnel.Tests.Authorization;

/// <summary>Matching semantics: string patterns, not-forms, AND/OR structure, L7 handling, dry-run, trust domain.</summary>
public sealed class AuthorizationEvaluatorTests
{
    private static string Allow(string source, string ns = "foo") => $"""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {"{"}name: p, namespace: {ns}{"}"}
        spec:
          rules:
          - from:
            - source:
                {source}
        """;

    public static TheoryData<string, string, bool> SourceMatches() => new()
    {
        // source field(s), peer identity (or "-" for plaintext), allowed
        { "principals: [\"cluster.local/ns/a/sa/b\"]", "spiffe://cluster.local/ns/a/sa/b", true },
        { "principals: [\"cluster.local/ns/a/sa/b\"]", "spiffe://cluster.local/ns/a/sa/bb", false },
        { "principals: [\"cluster.local/ns/a/*\"]", "spiffe://cluster.local/ns/a/sa/anything", true },
        { "principals: [\"cluster.local/ns/a/*\"]", "spiffe://cluster.local/ns/ab/sa/x", false },
        { "principals: [\"*/sa/admin\"]", "spiffe://other.td/ns/z/sa/admin", true },
        { "principals: [\"*/sa/admin\"]", "spiffe://other.td/ns/z/sa/xadmin", false },
        { "principals: [\"*\"]", "spiffe://cluster.local/ns/a/sa/b", true },
        { "principals: [\"*\"]", "-", false },
        { "notPrincipals: [\"*\"]", "-", true },
        { "notPrincipals: [\"cluster.local/ns/a/sa/b\"]", "spiffe://cluster.local/ns/a/sa/b", false },
        { "notPrincipals: [\"cluster.local/ns/a/sa/b\"]", "spiffe://cluster.local/ns/a/sa/c", true },
        { "namespaces: [\"prod-*\"]", "spiffe://cluster.local/ns/prod-eu/sa/x", true },
        { "namespaces: [\"*-test\"]", "spiffe://cluster.local/ns/web-test/sa/x", true },
        { "namespaces: [\"*\"]", "-", false },
        { "notNamespaces: [\"dev\"]", "-", true },
        { "notNamespaces: [\"dev\"]", "spiffe://cluster.local/ns/dev/sa/x", false },
        // values OR
        { "namespaces: [\"a\", \"b\"]", "spiffe://cluster.local/ns/b/sa/x", true },
        // fields AND
        { "namespaces: [\"a\"]\n        principals: [\"*/sa/x\"]", "spiffe://cluster.local/ns/a/sa/y", false },
        { "namespaces: [\"a\"]\n        principals: [\"*/sa/x\"]", "spiffe://cluster.local/ns/a/sa/x", true },
        { "notServiceAccounts: [\"a/x\"]", "spiffe://cluster.local/ns/a/sa/x", false },
        { "notServiceAccounts: [\"a/x\"]", "spiffe://cluster.local/ns/a/sa/y", true },
        { "serviceAccounts: [\"a/x\"]", "spiffe://another.td/ns/a/sa/x", true },
    };

    [Theory]
    [MemberData(nameof(SourceMatches))]
    public void Source_Field_MatchesLikeIstio(string source, string identity, bool allowed)
    {
        var decision = Evaluate(Allow(source), Request("foo", "", 80, identity == "-" ? null : identity));
        decision.Allowed.ShouldBe(allowed, string.Join('\n', decision.Explain()));
    }

    [Fact]
    public void Rules_AreOred_AndDecidingRuleIsReported()
    {
        const string yaml = """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: p, namespace: foo}
            spec:
              rules:
              - to: [{operation: {ports: ["1"]}}]
              - from: [{source: {namespaces: ["a"]}}]
                to: [{operation: {ports: ["80"]}}]
            """;
        var decision = Evaluate(yaml, Request("foo", "", 80, "spiffe://cluster.local/ns/a/sa/x"));
        decision.Reason.ShouldBe(DecisionReason.AllowedByPolicy);
        decision.RuleIndex.ShouldBe(1);
        Evaluate(yaml, Request("foo", "", 81, "spiffe://cluster.local/ns/a/sa/x")).Allowed.ShouldBeFalse();
    }

    [Fact]
    public void Deny_WinsOverMatchingAllow()
    {
        const string yaml = """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: allow, namespace: foo}
            spec: {rules: [{}]}
            ---
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: deny, namespace: foo}
            spec:
              action: DENY
              rules: [{to: [{operation: {ports: ["22"]}}]}]
            """;
        var denied = Evaluate(yaml, Request("foo", "", 22, null));
        denied.Reason.ShouldBe(DecisionReason.DeniedByPolicy);
        denied.DecidingPolicy.ShouldBe(new PolicyRef("foo", "deny"));
        Evaluate(yaml, Request("foo", "", 80, null)).Reason.ShouldBe(DecisionReason.AllowedByPolicy);
    }

    [Fact]
    public void Deny_WithL7AndL4Parts_KeepsTheL4Part()
    {
        const string yaml = """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: no-admin, namespace: foo}
            spec:
              action: DENY
              rules:
              - to:
                - operation:
                    ports: ["8080"]
                    paths: ["/admin*"]
            """;
        Evaluate(yaml, Request("foo", "", 8080, null)).Reason.ShouldBe(DecisionReason.DeniedByPolicy);
        Evaluate(yaml, Request("foo", "", 9090, null)).Reason.ShouldBe(DecisionReason.AllowedNoPolicy);
    }

    [Fact]
    public void Deny_AllL7_DeniesEverythingInScope_AndWarns()
    {
        const string yaml = """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: no-post, namespace: foo}
            spec:
              action: DENY
              rules:
              - to: [{operation: {methods: ["POST"]}}]
              - from: [{source: {requestPrincipals: ["*"]}}]
              - when: [{key: "request.headers[x-debug]", values: ["1"]}]
            """;
        var result = PolicyLoader.LoadYaml(yaml, "test.yaml");
        result.Warnings.Count.ShouldBe(3);
        result.Warnings.ShouldAllBe(w => w.Message.Contains("denies more than written", StringComparison.Ordinal));
        var decision = AuthorizationEvaluator.Evaluate(result.ToPolicySet(), Request("foo", "", 80, "spiffe://cluster.local/ns/a/sa/b"));
        decision.Reason.ShouldBe(DecisionReason.DeniedByPolicy);
        decision.RuleIndex.ShouldBe(0);
        decision.Explain().ShouldContain(l => l.Contains("note: rule 0 enforced without its HTTP attributes", StringComparison.Ordinal));
    }

    [Fact]
    public void Allow_WithL7Rule_DropsOnlyThatRule()
    {
        const string yaml = """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: p, namespace: foo}
            spec:
              rules:
              - to: [{operation: {methods: ["GET"], ports: ["80"]}}]
              - to: [{operation: {ports: ["443"]}}]
            """;
        Evaluate(yaml, Request("foo", "", 80, null)).Reason.ShouldBe(DecisionReason.NoAllowMatched);
        var allowed = Evaluate(yaml, Request("foo", "", 443, null));
        allowed.Reason.ShouldBe(DecisionReason.AllowedByPolicy);
        allowed.RuleIndex.ShouldBe(1);
    }

    [Fact]
    public void DryRun_Deny_IsReportedButNotEnforced()
    {
        const string yaml = """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata:
              name: trial
              namespace: foo
              annotations: {istio.io/dry-run: "true"}
            spec:
              action: DENY
              rules: [{from: [{source: {namespaces: ["dev"]}}]}]
            """;
        var decision = Evaluate(yaml, Request("foo", "", 80, "spiffe://cluster.local/ns/dev/sa/x"));
        decision.Allowed.ShouldBeTrue();
        decision.Reason.ShouldBe(DecisionReason.AllowedNoPolicy);
        decision.DryRunAllowed.ShouldBe(false);
        decision.DryRunFindings.ShouldHaveSingleItem().ShouldBe("dry-run DENY policy foo/trial rule 0 matched: would deny");
        decision.Explain().ShouldContain("dry-run: enforcing the dry-run policies would change the decision to DENY");

        var other = Evaluate(yaml, Request("foo", "", 80, "spiffe://cluster.local/ns/prod/sa/x"));
        other.DryRunAllowed.ShouldBe(true);
        other.DryRunFindings.ShouldBeEmpty();
    }

    [Fact]
    public void DryRun_Allow_DoesNotCloseTheWorkload()
    {
        const string yaml = """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata:
              name: trial
              namespace: foo
              annotations: {istio.io/dry-run: "true"}
            spec:
              rules: [{from: [{source: {namespaces: ["foo"]}}]}]
            """;
        var decision = Evaluate(yaml, Request("foo", "", 80, "spiffe://cluster.local/ns/bar/sa/x"));
        decision.Allowed.ShouldBeTrue();
        decision.DryRunAllowed.ShouldBe(false);
        decision.DryRunFindings.ShouldHaveSingleItem().ShouldContain("no rule matched");
    }

    [Fact]
    public void TrustDomain_ClusterLocalInPolicy_MeansTheMeshTrustDomain()
    {
        var set = Load(Allow("principals: [\"cluster.local/ns/a/sa/b\"]"), trustDomain: "corp.example");
        AuthorizationEvaluator.Evaluate(set, Request("foo", "", 80, "spiffe://corp.example/ns/a/sa/b")).Allowed.ShouldBeTrue();
        AuthorizationEvaluator.Evaluate(set, Request("foo", "", 80, "spiffe://evil.example/ns/a/sa/b")).Allowed.ShouldBeFalse();
    }

    [Fact]
    public void RootNamespace_IsConfigurable()
    {
        const string yaml = """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: deny-all, namespace: mesh-root}
            spec: {action: DENY, rules: [{}]}
            """;
        AuthorizationEvaluator.Evaluate(Load(yaml, rootNamespace: "mesh-root"), Request("foo", "", 80, null)).Allowed.ShouldBeFalse();
        AuthorizationEvaluator.Evaluate(Load(yaml), Request("foo", "", 80, null)).Allowed.ShouldBeTrue();
    }

    [Fact]
    public void Explain_NoPolicyApplies_SaysWhy()
    {
        var decision = Evaluate(Allow("namespaces: [\"a\"]", ns: "bar"), Request("foo", "", 80, null));
        decision.Reason.ShouldBe(DecisionReason.AllowedNoPolicy);
        decision.Explain().ShouldContain(l => l.StartsWith("none of the 1 loaded AuthorizationPolicies applies to this workload", StringComparison.Ordinal));
    }

    [Fact]
    public void Evaluate_SteadyState_AllocatesOnlyTheDecision()
    {
        var set = Load(Allow("principals: [\"cluster.local/ns/a/*\"]\n        ipBlocks: [\"10.0.0.0/8\"]"));
        var request = Request("foo", "", 80, "spiffe://cluster.local/ns/a/sa/b");
        AuthorizationEvaluator.Evaluate(set, request).Allowed.ShouldBeTrue();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            AuthorizationEvaluator.Evaluate(set, request);
        }
        long perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / 100;
        // One AuthorizationDecision (about 150 bytes: it keeps the request for Explain); no strings, enumerators or closures.
        perCall.ShouldBeLessThanOrEqualTo(256);
    }
}
