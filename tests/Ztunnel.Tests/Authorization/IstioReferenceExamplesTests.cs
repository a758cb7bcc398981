using Ztunnel.Authorization;
using static Ztunnel.Tests.Authorization.PolicyFixture;

namespace Ztunnel.Tests.Authorization;

/// <summary>
/// The examples of Istio's reference pages (AuthorizationPolicy, Authorization Policy Conditions, ambient "Use Layer 4
/// security policy") and the common idioms, with what ztunnel does with them at L4.
/// </summary>
public sealed class IstioReferenceExamplesTests
{
    private const string Curl = "spiffe://cluster.local/ns/default/sa/curl";
    private const string DevPod = "spiffe://cluster.local/ns/dev/sa/web";
    private const string Other = "spiffe://cluster.local/ns/other/sa/app";

    internal sealed record Case(string Yaml, AuthorizationRequest Request, bool Allowed, DecisionReason Reason, string? Policy = null, int Rule = -1);

    // AuthorizationPolicy reference, first example: two sources, GET only, with a JWT `when`. The HTTP parts cannot
    // be checked at L4, so the only rule is dropped and the ALLOW matches nothing: httpbin v1 is closed.
    private const string HttpbinJwt = """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: httpbin
          namespace: foo
        spec:
          selector:
            matchLabels:
              app: httpbin
              version: v1
          action: ALLOW
          rules:
          - from:
            - source:
                principals: ["cluster.local/ns/default/sa/curl"]
            - source:
                namespaces: ["dev"]
            to:
            - operation:
                methods: ["GET"]
            when:
            - key: request.auth.claims[iss]
              values: ["https://accounts.google.com"]
        """;

    // Reference example: DENY requests from the dev namespace to POST. At L4 the method is dropped and the L4 part
    // (from dev) kept: everything from dev is denied.
    private const string DenyDevPost = """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: httpbin
          namespace: foo
        spec:
          action: DENY
          rules:
          - from:
            - source:
                namespaces: ["dev"]
            to:
            - operation:
                methods: ["POST"]
        """;

    // Reference idiom: allow-nothing (ALLOW without rules).
    private const string AllowNothing = """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: allow-nothing
          namespace: foo
        spec: {}
        """;

    // Reference idiom: allow-all (one empty rule).
    private const string AllowAll = """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: allow-all
          namespace: foo
        spec:
          rules:
          - {}
        """;

    // Reference idiom: deny-all (DENY with one empty rule) in the root namespace: the whole mesh.
    private const string MeshDenyAll = """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: deny-all
          namespace: istio-system
        spec:
          action: DENY
          rules:
          - {}
        """;

    // Require mTLS: deny any source without a principal.
    private const string RequireMtls = """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: require-mtls
          namespace: foo
        spec:
          action: DENY
          rules:
          - from:
            - source:
                notPrincipals: ["*"]
        """;

    // Namespace isolation: only workloads of foo (and the ingress namespace) may connect.
    private const string NamespaceIsolation = """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: ns-isolation
          namespace: foo
        spec:
          action: ALLOW
          rules:
          - from:
            - source:
                namespaces: ["foo", "istio-ingress"]
        """;

    // Ambient L4 page: allow-curl-to-httpbin.
    private const string AmbientL4 = """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: allow-curl-to-httpbin
          namespace: ambient-demo
        spec:
          selector:
            matchLabels:
              app: httpbin
          action: ALLOW
          rules:
          - from:
            - source:
                principals:
                - cluster.local/ns/ambient-demo/sa/curl
        """;

    // Reference: any authenticated identity (presence) to port 8080 only; notPorts and ipBlocks.
    private const string PortsAndIps = """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: tcp
          namespace: foo
        spec:
          action: ALLOW
          rules:
          - from:
            - source:
                principals: ["*"]
            to:
            - operation:
                ports: ["8080"]
          - from:
            - source:
                ipBlocks: ["1.2.3.4", "5.6.7.0/24"]
            to:
            - operation:
                notPorts: ["22"]
        """;

    // Conditions page: source.ip, source.namespace, source.principal, destination.ip, destination.port.
    private const string Conditions = """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: conditions
          namespace: foo
        spec:
          action: ALLOW
          rules:
          - when:
            - key: source.ip
              values: ["10.1.2.3", "10.2.0.0/16"]
            - key: destination.port
              values: ["80", "443"]
          - when:
            - key: source.namespace
              values: ["default"]
            - key: destination.ip
              notValues: ["10.9.0.0/16"]
          - when:
            - key: source.principal
              values: ["cluster.local/ns/dev/sa/*"]
            - key: request.headers[User-Agent]
              values: ["Mozilla/*"]
        """;

    // Root namespace policy with a selector: matching workloads in every namespace.
    private const string MeshSelector = """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: deny-dev-to-db
          namespace: istio-system
        spec:
          selector:
            matchLabels:
              tier: db
          action: DENY
          rules:
          - from:
            - source:
                namespaces: ["dev"]
        """;

    // serviceAccounts (shorthand for identities): "ns/name" or "name" in the policy's namespace.
    private const string ServiceAccounts = """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: sa
          namespace: foo
        spec:
          rules:
          - from:
            - source:
                serviceAccounts: ["default/curl", "reader"]
        """;

    internal static readonly Dictionary<string, Case> Cases = new()
    {
        ["jwt example: curl closed at L4"] = new(HttpbinJwt, Request("foo", "app=httpbin,version=v1", 8000, Curl), false, DecisionReason.NoAllowMatched),
        ["jwt example: dev closed at L4"] = new(HttpbinJwt, Request("foo", "app=httpbin,version=v1", 8000, DevPod), false, DecisionReason.NoAllowMatched),
        ["jwt example: other workload untouched"] = new(HttpbinJwt, Request("foo", "app=httpbin,version=v2", 8000, Other), true, DecisionReason.AllowedNoPolicy),
        ["deny dev POST: dev denied at L4"] = new(DenyDevPost, Request("foo", "", 80, DevPod), false, DecisionReason.DeniedByPolicy, "foo/httpbin", 0),
        ["deny dev POST: others allowed"] = new(DenyDevPost, Request("foo", "", 80, Curl), true, DecisionReason.AllowedNoPolicy),
        ["deny dev POST: plaintext allowed"] = new(DenyDevPost, Request("foo", "", 80, null), true, DecisionReason.AllowedNoPolicy),
        ["allow-nothing denies"] = new(AllowNothing, Request("foo", "app=a", 80, Curl), false, DecisionReason.NoAllowMatched),
        ["allow-nothing other namespace untouched"] = new(AllowNothing, Request("bar", "app=a", 80, Curl), true, DecisionReason.AllowedNoPolicy),
        ["allow-all allows plaintext"] = new(AllowAll, Request("foo", "", 80, null), true, DecisionReason.AllowedByPolicy, "foo/allow-all", 0),
        ["mesh deny-all denies everywhere"] = new(MeshDenyAll, Request("bar", "", 80, Curl), false, DecisionReason.DeniedByPolicy, "istio-system/deny-all", 0),
        ["mesh deny-all denies in root namespace"] = new(MeshDenyAll, Request("istio-system", "", 80, Curl), false, DecisionReason.DeniedByPolicy, "istio-system/deny-all", 0),
        ["require mTLS denies plaintext"] = new(RequireMtls, Request("foo", "", 80, null), false, DecisionReason.DeniedByPolicy, "foo/require-mtls", 0),
        ["require mTLS allows identity"] = new(RequireMtls, Request("foo", "", 80, Curl), true, DecisionReason.AllowedNoPolicy),
        ["isolation allows own namespace"] = new(NamespaceIsolation, Request("foo", "", 80, "spiffe://cluster.local/ns/foo/sa/x"), true, DecisionReason.AllowedByPolicy, "foo/ns-isolation", 0),
        ["isolation allows ingress"] = new(NamespaceIsolation, Request("foo", "", 80, "spiffe://cluster.local/ns/istio-ingress/sa/gw"), true, DecisionReason.AllowedByPolicy, "foo/ns-isolation", 0),
        ["isolation denies other namespace"] = new(NamespaceIsolation, Request("foo", "", 80, Other), false, DecisionReason.NoAllowMatched),
        ["isolation denies plaintext"] = new(NamespaceIsolation, Request("foo", "", 80, null), false, DecisionReason.NoAllowMatched),
        ["ambient L4: curl allowed"] = new(AmbientL4, Request("ambient-demo", "app=httpbin", 8000, "spiffe://cluster.local/ns/ambient-demo/sa/curl"), true, DecisionReason.AllowedByPolicy, "ambient-demo/allow-curl-to-httpbin", 0),
        ["ambient L4: other denied"] = new(AmbientL4, Request("ambient-demo", "app=httpbin", 8000, "spiffe://cluster.local/ns/ambient-demo/sa/other"), false, DecisionReason.NoAllowMatched),
        ["ambient L4: other app untouched"] = new(AmbientL4, Request("ambient-demo", "app=web", 8000, Other), true, DecisionReason.AllowedNoPolicy),
        ["presence: identity to 8080"] = new(PortsAndIps, Request("foo", "", 8080, Other), true, DecisionReason.AllowedByPolicy, "foo/tcp", 0),
        ["presence: plaintext to 8080 denied"] = new(PortsAndIps, Request("foo", "", 8080, null), false, DecisionReason.NoAllowMatched),
        ["presence: identity to 9090 denied"] = new(PortsAndIps, Request("foo", "", 9090, Other), false, DecisionReason.NoAllowMatched),
        ["ipBlocks: single IP"] = new(PortsAndIps, Request("foo", "", 9090, null, "1.2.3.4"), true, DecisionReason.AllowedByPolicy, "foo/tcp", 1),
        ["ipBlocks: CIDR"] = new(PortsAndIps, Request("foo", "", 9090, null, "5.6.7.200"), true, DecisionReason.AllowedByPolicy, "foo/tcp", 1),
        ["ipBlocks: notPorts excludes 22"] = new(PortsAndIps, Request("foo", "", 22, null, "5.6.7.200"), false, DecisionReason.NoAllowMatched),
        ["ipBlocks: IPv4-mapped source"] = new(PortsAndIps, Request("foo", "", 9090, null, "::ffff:1.2.3.4"), true, DecisionReason.AllowedByPolicy, "foo/tcp", 1),
        ["ipBlocks: outside"] = new(PortsAndIps, Request("foo", "", 9090, null, "1.2.3.5"), false, DecisionReason.NoAllowMatched),
        ["when source.ip and port"] = new(Conditions, Request("foo", "", 443, null, "10.2.9.9"), true, DecisionReason.AllowedByPolicy, "foo/conditions", 0),
        ["when port not listed"] = new(Conditions, Request("foo", "", 8443, null, "10.2.9.9"), false, DecisionReason.NoAllowMatched),
        ["when source.namespace"] = new(Conditions, Request("foo", "", 8443, Curl), true, DecisionReason.AllowedByPolicy, "foo/conditions", 1),
        ["when destination.ip notValues"] = new(Conditions, Request("foo", "", 8443, Curl, destIp: "10.9.1.1"), false, DecisionReason.NoAllowMatched),
        ["when L7 key drops the ALLOW rule"] = new(Conditions, Request("foo", "", 8443, DevPod), false, DecisionReason.NoAllowMatched),
        ["mesh selector matches in any namespace"] = new(MeshSelector, Request("shop", "tier=db", 5432, DevPod), false, DecisionReason.DeniedByPolicy, "istio-system/deny-dev-to-db", 0),
        ["mesh selector skips other labels"] = new(MeshSelector, Request("shop", "tier=web", 5432, DevPod), true, DecisionReason.AllowedNoPolicy),
        ["serviceAccounts ns/name"] = new(ServiceAccounts, Request("foo", "", 80, Curl), true, DecisionReason.AllowedByPolicy, "foo/sa", 0),
        ["serviceAccounts name in policy namespace"] = new(ServiceAccounts, Request("foo", "", 80, "spiffe://cluster.local/ns/foo/sa/reader"), true, DecisionReason.AllowedByPolicy, "foo/sa", 0),
        ["serviceAccounts other namespace same name"] = new(ServiceAccounts, Request("foo", "", 80, "spiffe://cluster.local/ns/bar/sa/reader"), false, DecisionReason.NoAllowMatched),
    };

    public static TheoryData<string> CaseNames() => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Evaluate_ReferenceExample_DecidesAsIstioAmbient(string name)
    {
        var c = Cases[name];
        var decision = Evaluate(c.Yaml, c.Request);
        decision.Reason.ShouldBe(c.Reason, string.Join('\n', decision.Explain()));
        decision.Allowed.ShouldBe(c.Allowed);
        decision.DecidingPolicy?.ToString().ShouldBe(c.Policy);
        if (c.Policy is not null)
        {
            decision.RuleIndex.ShouldBe(c.Rule);
        }
    }
}
