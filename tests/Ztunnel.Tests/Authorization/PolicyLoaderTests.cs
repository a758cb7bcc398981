using Ztunnel.Authorization;

namespace Ztunnel.Tests.Authorization;

/// <summary>Reading real policy YAML: what is accepted, what is warned about, and errors that name file, line, policy and field.</summary>
public sealed class PolicyLoaderTests
{
    private static string Policy(string spec, string name = "p", string ns = "foo", string apiVersion = "security.istio.io/v1") => $"""
        apiVersion: {apiVersion}
        kind: AuthorizationPolicy
        metadata:
          name: {name}
          namespace: {ns}
        spec:
        {spec}
        """;

    public static TheoryData<string, string, string, string> Malformed() => new()
    {
        // case, yaml, field the message must name, problem the message must state
        { "bad CIDR", Policy("  rules:\n  - from:\n    - source:\n        ipBlocks: [\"10.0.0.0/8\", \"10.0.0.0/33\"]"), "spec.rules[0].from[0].source.ipBlocks[1]", "'10.0.0.0/33' is not a valid CIDR" },
        { "bad IP", Policy("  rules:\n  - from:\n    - source:\n        notIpBlocks: [\"10.1\"]"), "spec.rules[0].from[0].source.notIpBlocks[0]", "not a valid IP address or CIDR" },
        { "non-numeric port", Policy("  rules:\n  - to:\n    - operation:\n        ports: [\"http\"]"), "spec.rules[0].to[0].operation.ports[0]", "'http' is not a port number" },
        { "port out of range", Policy("  rules:\n  - to:\n    - operation:\n        notPorts: [\"70000\"]"), "spec.rules[0].to[0].operation.notPorts[0]", "not a port number" },
        { "when port", Policy("  rules:\n  - when:\n    - key: destination.port\n      values: [\"eighty\"]"), "spec.rules[0].when[0].values[0]", "not a port number" },
        { "when CIDR", Policy("  rules:\n  - when:\n    - key: source.ip\n      notValues: [\"1.2.3.4/40\"]"), "spec.rules[0].when[0].notValues[0]", "not a valid CIDR" },
        { "serviceAccounts with principals", Policy("  rules:\n  - from:\n    - source:\n        principals: [\"cluster.local/ns/a/sa/b\"]\n        serviceAccounts: [\"a/b\"]"), "spec.rules[0].from[0].source.serviceAccounts", "cannot be combined with principals or namespaces" },
        { "serviceAccounts with notNamespaces", Policy("  rules:\n  - from:\n    - source:\n        notNamespaces: [\"a\"]\n        notServiceAccounts: [\"a/b\"]"), "spec.rules[0].from[0].source.serviceAccounts", "cannot be combined" },
        { "17 service accounts", Policy("  rules:\n  - from:\n    - source:\n        serviceAccounts: [" + string.Join(", ", Enumerable.Range(0, 17).Select(i => $"\"ns/sa{i}\"")) + "]"), "spec.rules[0].from[0].source.serviceAccounts", "has 17 entries; at most 16" },
        { "bad service account", Policy("  rules:\n  - from:\n    - source:\n        serviceAccounts: [\"a/b/c\"]"), "spec.rules[0].from[0].source.serviceAccounts[0]", "is not a service account" },
        { "selector with targetRefs", Policy("  selector:\n    matchLabels:\n      app: x\n  targetRefs:\n  - kind: Service\n    group: \"\"\n    name: x"), "spec.targetRefs", "cannot be combined with selector" },
        { "unknown action", Policy("  action: REJECT"), "spec.action", "'REJECT' is not an action" },
        { "DENY without rules", Policy("  action: DENY"), "spec.rules", "DENY without rules" },
        { "DENY with empty rules", Policy("  action: DENY\n  rules: []"), "spec.rules", "DENY without rules" },
        { "empty source", Policy("  rules:\n  - from:\n    - source: {}"), "spec.rules[0].from[0].source", "must not be empty" },
        { "missing source", Policy("  rules:\n  - from:\n    - {}"), "spec.rules[0].from[0].source", "is required" },
        { "empty from", Policy("  rules:\n  - from: []"), "spec.rules[0].from", "must not be empty" },
        { "unknown when key", Policy("  rules:\n  - when:\n    - key: source.color\n      values: [\"red\"]"), "spec.rules[0].when[0].key", "unknown condition key 'source.color'" },
        { "when without values", Policy("  rules:\n  - when:\n    - key: source.ip"), "spec.rules[0].when[0]", "at least one of values or notValues" },
        { "rules not a list", Policy("  rules:\n    from: x"), "spec.rules", "expected a list" },
        { "v1alpha1", Policy("  rules: [{}]", apiVersion: "security.istio.io/v1alpha1"), "apiVersion", "'security.istio.io/v1alpha1' is not supported" },
        { "bad dry-run", Policy("  rules: [{}]").Replace("  namespace: foo", "  namespace: foo\n  annotations:\n    istio.io/dry-run: maybe", StringComparison.Ordinal), "metadata.annotations[istio.io/dry-run]", "must be \"true\" or \"false\"" },
        { "no name", "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  namespace: foo\nspec: {}\n", "metadata.name", "has no name" },
        { "duplicate", Policy("  rules: [{}]") + "\n---\n" + Policy("  rules: [{}]"), "metadata.name", "duplicate AuthorizationPolicy foo/p (first defined at test.yaml:1)" },
        { "PA bad mode", "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: pa, namespace: foo}\nspec:\n  mtls:\n    mode: STRICTER\n", "spec.mtls.mode", "'STRICTER' is not a mode" },
        { "PA bad port", "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: pa, namespace: foo}\nspec:\n  selector:\n    matchLabels: {app: db}\n  portLevelMtls:\n    https:\n      mode: STRICT\n", "spec.portLevelMtls[https]", "'https' is not a port number" },
        { "PA ports without selector", "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: pa, namespace: foo}\nspec:\n  portLevelMtls:\n    8080:\n      mode: STRICT\n", "spec.portLevelMtls", "cannot have port level mTLS" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void LoadYaml_Malformed_ErrorNamesFileLinePolicyAndField(string name, string yaml, string field, string problem)
    {
        var e = Should.Throw<PolicyValidationException>(() => PolicyLoader.LoadYaml(yaml, "test.yaml"), name);
        e.SourceName.ShouldBe("test.yaml");
        e.Line.ShouldBeGreaterThan(0);
        e.Message.ShouldStartWith($"test.yaml:{e.Line}:");
        e.Field.ShouldBe(field);
        e.Message.ShouldContain(problem);
        if (!yaml.Contains("kind: PeerAuthentication", StringComparison.Ordinal) && name != "v1alpha1")
        {
            e.Policy.ShouldBe(name == "no name" ? null : "AuthorizationPolicy foo/p");
        }
    }

    [Fact]
    public void LoadYaml_BadCidr_MessagePointsAtTheLine()
    {
        string yaml = Policy("  rules:\n  - from:\n    - source:\n        ipBlocks:\n        - 10.0.0.0/8\n        - 300.0.0.1");
        var e = Should.Throw<PolicyValidationException>(() => PolicyLoader.LoadYaml(yaml, "policies/p.yaml"));
        e.Message.ShouldBe("policies/p.yaml:12: AuthorizationPolicy foo/p: spec.rules[0].from[0].source.ipBlocks[1]: '300.0.0.1' is not a valid IP address or CIDR");
    }

    [Fact]
    public void LoadYaml_SyntaxError_NamesFileAndLine()
    {
        var e = Should.Throw<PolicyValidationException>(() => PolicyLoader.LoadYaml("apiVersion: v1\nkind: [unclosed\n", "broken.yaml"));
        e.Message.ShouldStartWith("broken.yaml:");
        e.Message.ShouldContain("invalid YAML");
    }

    [Fact]
    public void LoadYaml_UnknownFields_AreWarningsNotErrors()
    {
        var result = PolicyLoader.LoadYaml(Policy("  actions: DENY\n  rules:\n  - from:\n    - source:\n        principal: [\"x\"]\n        namespaces: [\"a\"]"), "test.yaml");
        result.AuthorizationPolicies.ShouldHaveSingleItem().Action.ShouldBe(AuthorizationAction.Allow);
        result.Warnings.Select(w => w.Message).ShouldBe(
            ["spec.actions: unknown field, ignored", "spec.rules[0].from[0].source.principal: unknown field, ignored"], ignoreOrder: true);
        result.Warnings.ShouldAllBe(w => w.Policy == "AuthorizationPolicy foo/p" && w.SourceName == "test.yaml");
    }

    [Fact]
    public void LoadYaml_MultiDocumentMixedKinds_ReadsSecurityKindsAndWarnsAboutOthers()
    {
        string yaml = Policy("  rules: [{}]", apiVersion: "security.istio.io/v1beta1") + """

            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: foo}
            ---
            apiVersion: security.istio.io/v1
            kind: RequestAuthentication
            metadata: {name: jwt, namespace: foo}
            ---
            apiVersion: security.istio.io/v1beta1
            kind: PeerAuthentication
            metadata: {name: default, namespace: foo}
            spec:
              mtls: {mode: STRICT}
            ---
            """;
        var result = PolicyLoader.LoadYaml(yaml, "test.yaml");
        result.AuthorizationPolicies.ShouldHaveSingleItem().Ref.ShouldBe(new PolicyRef("foo", "p"));
        result.PeerAuthentications.ShouldHaveSingleItem().Mode.ShouldBe(MtlsMode.Strict);
        result.Warnings.Count.ShouldBe(2);
        result.Warnings.ShouldContain(w => w.Message.Contains("Service (v1) ignored", StringComparison.Ordinal));
        result.Warnings.ShouldContain(w => w.Message.Contains("RequestAuthentication", StringComparison.Ordinal));
    }

    [Fact]
    public void LoadYaml_KubernetesList_ReadsItems()
    {
        const string yaml = """
            apiVersion: v1
            kind: List
            items:
            - apiVersion: security.istio.io/v1
              kind: AuthorizationPolicy
              metadata: {name: a, namespace: foo}
              spec: {rules: [{}]}
            - apiVersion: security.istio.io/v1
              kind: AuthorizationPolicy
              metadata: {name: b, namespace: foo}
              spec: {action: DENY, rules: [{}]}
            """;
        PolicyLoader.LoadYaml(yaml, "list.yaml").AuthorizationPolicies.Select(p => p.Ref.Name).ShouldBe(["a", "b"]);
    }

    [Theory]
    [InlineData("  targetRefs:\n  - kind: Service\n    group: \"\"\n    name: reviews\n  rules: [{}]", "waypoint")]
    [InlineData("  targetRef:\n    kind: Gateway\n    group: gateway.networking.k8s.io\n    name: gw\n  rules: [{}]", "waypoint")]
    [InlineData("  action: AUDIT\n  rules: [{}]", "AUDIT is not supported")]
    [InlineData("  action: CUSTOM\n  provider: {name: ext-authz}\n  rules: [{}]", "CUSTOM is not supported")]
    public void LoadYaml_NotForZtunnel_IsIgnoredWithWarning(string spec, string warning)
    {
        var result = PolicyLoader.LoadYaml(Policy(spec), "test.yaml");
        result.AuthorizationPolicies.ShouldBeEmpty();
        result.Warnings.ShouldHaveSingleItem().Message.ShouldContain(warning);
    }

    [Fact]
    public void LoadYaml_SpiffePrefixAndPatterns_Compile()
    {
        var result = PolicyLoader.LoadYaml(Policy("  rules:\n  - from:\n    - source:\n        principals: [\"spiffe://cluster.local/ns/a/sa/b\", \"cluster.local/ns/a/*\", \"*/sa/b\", \"*\"]"), "test.yaml");
        result.AuthorizationPolicies[0].Rules[0].From[0].Principals.ShouldBe([
            new StringMatch(StringMatchKind.Exact, "cluster.local/ns/a/sa/b"),
            new StringMatch(StringMatchKind.Prefix, "cluster.local/ns/a/"),
            new StringMatch(StringMatchKind.Suffix, "/sa/b"),
            new StringMatch(StringMatchKind.Presence, ""),
        ]);
    }

    [Fact]
    public void LoadYaml_DryRunAnnotation_IsRead()
    {
        string yaml = Policy("  action: DENY\n  rules: [{}]").Replace("  namespace: foo", "  namespace: foo\n  annotations:\n    istio.io/dry-run: \"true\"", StringComparison.Ordinal);
        PolicyLoader.LoadYaml(yaml, "test.yaml").AuthorizationPolicies.ShouldHaveSingleItem().DryRun.ShouldBeTrue();
    }

    [Fact]
    public void LoadPath_Directory_ReadsYamlFilesInNameOrder()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"authz-loader-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "b.yml"), Policy("  rules: [{}]", name: "second"));
            File.WriteAllText(Path.Combine(dir, "a.yaml"), Policy("  rules: [{}]", name: "first"));
            File.WriteAllText(Path.Combine(dir, "notes.txt"), "not yaml: [");
            var result = PolicyLoader.LoadPath(dir);
            result.AuthorizationPolicies.Select(p => p.Ref.Name).ShouldBe(["first", "second"]);
            result.AuthorizationPolicies[0].Location.ShouldBe($"{Path.Combine(dir, "a.yaml")}:1");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void LoadPath_MissingFile_NamesThePath()
    {
        var e = Should.Throw<PolicyValidationException>(() => PolicyLoader.LoadPath("/nonexistent/authz-policies.yaml"));
        e.Message.ShouldBe("/nonexistent/authz-policies.yaml: no such file or directory");
    }
}
