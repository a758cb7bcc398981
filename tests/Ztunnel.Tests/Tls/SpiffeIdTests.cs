using Ztunnel.Tls;

namespace Ztunnel.Tests.Tls;

public sealed class SpiffeIdTests
{
    [Fact]
    public void Parse_IstioIdentity_ExposesPartsAndRoundTrips()
    {
        SpiffeId id = SpiffeId.Parse("spiffe://cluster.local/ns/shop/sa/checkout-v2");

        id.TrustDomain.ShouldBe("cluster.local");
        id.Namespace.ShouldBe("shop");
        id.ServiceAccount.ShouldBe("checkout-v2");
        id.ToString().ShouldBe("spiffe://cluster.local/ns/shop/sa/checkout-v2");
        id.Principal.ShouldBe("cluster.local/ns/shop/sa/checkout-v2");
        id.ToUri().ShouldBe(new Uri("spiffe://cluster.local/ns/shop/sa/checkout-v2"));
        id.ShouldBe(new SpiffeId("cluster.local", "shop", "checkout-v2"));
    }

    [Theory]
    [InlineData("", "SPIFFE ID is empty")]
    [InlineData("cluster.local/ns/a/sa/b", "does not start with 'spiffe://'")]
    [InlineData("https://cluster.local/ns/a/sa/b", "does not start with 'spiffe://'")]
    [InlineData("spiffe://cluster.local/workload", "is not of the form spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>")]
    [InlineData("spiffe://cluster.local/ns/a/sa/b/c", "is not of the form")]
    [InlineData("spiffe://cluster.local/ns/a/sa/", "service account is empty")]
    [InlineData("spiffe://cluster.local/ns/a/sa/b/", "is not of the form")]
    [InlineData("spiffe://cluster.local/sa/a/ns/b", "is not of the form")]
    [InlineData("spiffe:///ns/a/sa/b", "trust domain is empty")]
    [InlineData("spiffe://Cluster.Local/ns/a/sa/b", "trust domain 'Cluster.Local' has the character 'C'")]
    [InlineData("spiffe://cluster.local/ns/../sa/b", "namespace '..' is not allowed")]
    [InlineData("spiffe://cluster.local/ns/a b/sa/b", "namespace 'a b' has the character ' '")]
    public void Parse_Invalid_ThrowsNamingTheProblem(string value, string expected)
    {
        var e = Should.Throw<FormatException>(() => SpiffeId.Parse(value));

        e.Message.ShouldContain(expected);
        SpiffeId.TryParse(value, out _).ShouldBeFalse();
    }

    [Fact]
    public void TryParse_Invalid_ReportsErrorNamingTheInput()
    {
        SpiffeId.TryParse("spiffe://cluster.local/ns/a", out _, out string? error).ShouldBeFalse();

        error.ShouldBe("SPIFFE ID 'spiffe://cluster.local/ns/a' is not of the form spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>");
    }

    [Fact]
    public void TryParse_Null_IsFalse()
    {
        SpiffeId.TryParse(null, out _).ShouldBeFalse();
    }

    [Fact]
    public void Constructor_InvalidPart_Throws()
    {
        Should.Throw<FormatException>(() => new SpiffeId("cluster.local", "", "sa")).Message.ShouldBe("namespace is empty");
        Should.Throw<FormatException>(() => new SpiffeId("cluster.local", "ns", "a/b")).Message.ShouldBe("service account 'a/b' has the character '/' (allowed: letters, digits, . - _)");
    }

    [Fact]
    public void Equality_IsByValue()
    {
        SpiffeId.Parse("spiffe://td/ns/a/sa/b").ShouldBe(new SpiffeId("td", "a", "b"));
        SpiffeId.Parse("spiffe://td/ns/a/sa/b").ShouldNotBe(new SpiffeId("td", "a", "c"));
    }
}
