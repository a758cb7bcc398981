using Ztunnel.Discovery;
using Ztunnel.Telemetry;

namespace Ztunnel.Tests.Telemetry;

public sealed class CanonicalServiceTests
{
    [Theory]
    [InlineData("service.istio.io/canonical-name=canon,app.kubernetes.io/name=k8s,app=plain", "canon")]
    [InlineData("app.kubernetes.io/name=k8s,app=plain", "k8s")]
    [InlineData("app=plain", "plain")]
    [InlineData("", "reviews-v1")]
    public void Name_FollowsIstioPrecedence_ThenWorkloadName(string labels, string expected)
    {
        CanonicalService.Name(Workload(labels)).ShouldBe(expected);
    }

    [Theory]
    [InlineData("service.istio.io/canonical-revision=r1,app.kubernetes.io/version=k1,version=v1", "r1")]
    [InlineData("app.kubernetes.io/version=k1,version=v1", "k1")]
    [InlineData("version=v1", "v1")]
    [InlineData("", "latest")]
    public void Revision_FollowsIstioPrecedence_ThenLatest(string labels, string expected)
    {
        CanonicalService.Revision(Workload(labels)).ShouldBe(expected);
    }

    private static Workload Workload(string labels) => new()
    {
        Uid = "u",
        Name = "reviews-v1",
        Namespace = "bookinfo",
        Labels = labels.Length == 0
            ? new Dictionary<string, string>()
            : labels.Split(',').Select(l => l.Split('=')).ToDictionary(p => p[0], p => p[1]),
    };
}
