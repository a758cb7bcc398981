using System.Net;
using Ztunnel.Authorization;
using Ztunnel.Tls;

namespace Ztunnel.Tests.Authorization;

/// <summary>Builds policy sets from inline YAML and requests from short strings, for table-driven tests.</summary>
internal static class PolicyFixture
{
    public static PolicySet Load(string yaml, string rootNamespace = PolicySet.DefaultRootNamespace, string trustDomain = PolicySet.DefaultTrustDomain) =>
        PolicyLoader.LoadYaml(yaml, "test.yaml").ToPolicySet(rootNamespace, trustDomain);

    /// <param name="labels">"app=httpbin,version=v1" or "".</param>
    /// <param name="source">"spiffe://td/ns/x/sa/y", or null for plaintext.</param>
    public static AuthorizationRequest Request(string ns, string labels, int port, string? source, string? sourceIp = "10.1.0.7", string destIp = "10.2.0.5")
    {
        var map = new Dictionary<string, string>();
        foreach (string pair in labels.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] kv = pair.Split('=');
            map[kv[0]] = kv[1];
        }
        return new AuthorizationRequest(ns, map, IPAddress.Parse(destIp), port,
            source is null ? null : SpiffeId.Parse(source), sourceIp is null ? null : IPAddress.Parse(sourceIp));
    }

    public static AuthorizationDecision Evaluate(string yaml, AuthorizationRequest request) =>
        AuthorizationEvaluator.Evaluate(Load(yaml), request);
}
