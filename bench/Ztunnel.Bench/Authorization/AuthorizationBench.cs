using System.Net;
using System.Text;
using BenchmarkDotNet.Attributes;
using Ztunnel.Authorization;
using Ztunnel.Tls;

namespace Ztunnel.Bench.Authorization;

/// <summary>
/// Cost of one connection's authorization decision with a mesh-sized policy set: 200 namespaces, each with a
/// namespace-isolation ALLOW, a selector ALLOW on ports and a DENY by IP, plus mesh-wide policies and STRICT mTLS.
/// </summary>
[MemoryDiagnoser]
public class AuthorizationBench
{
    private PolicySet _set = PolicySet.Empty;
    private AuthorizationRequest _allowed;
    private AuthorizationRequest _denied;

    [GlobalSetup]
    public void Setup()
    {
        var yaml = new StringBuilder("""
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: default, namespace: istio-system}
            spec: {mtls: {mode: STRICT}}
            ---
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: deny-blocked, namespace: istio-system}
            spec:
              action: DENY
              rules: [{from: [{source: {ipBlocks: ["192.0.2.0/24"]}}]}]

            """);
        for (int i = 0; i < 200; i++)
        {
            yaml.Append($$$"""
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: isolation, namespace: ns{{{i}}}}
                spec:
                  rules: [{from: [{source: {namespaces: ["ns{{{i}}}", "istio-ingress"]}}]}]
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: db, namespace: ns{{{i}}}}
                spec:
                  selector: {matchLabels: {app: db}}
                  rules: [{from: [{source: {principals: ["cluster.local/ns/ns{{{i}}}/sa/api-*"]}}], to: [{operation: {ports: ["5432"]}}]}]
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-ssh, namespace: ns{{{i}}}}
                spec:
                  action: DENY
                  rules: [{to: [{operation: {ports: ["22"]}}]}]

                """);
        }
        _set = PolicyLoader.LoadYaml(yaml.ToString(), "bench.yaml").ToPolicySet();
        var labels = new Dictionary<string, string> { ["app"] = "db", ["version"] = "v1" };
        _allowed = new AuthorizationRequest("ns42", labels, IPAddress.Parse("10.1.0.5"), 5432, SpiffeId.Parse("spiffe://cluster.local/ns/ns42/sa/api-server"), IPAddress.Parse("10.1.0.9"));
        _denied = _allowed with { SourceIdentity = SpiffeId.Parse("spiffe://cluster.local/ns/ns7/sa/api-server") };
    }

    [Benchmark]
    public bool Allowed() => AuthorizationEvaluator.Evaluate(_set, _allowed).Allowed;

    [Benchmark]
    public bool Denied() => AuthorizationEvaluator.Evaluate(_set, _denied).Allowed;
}
