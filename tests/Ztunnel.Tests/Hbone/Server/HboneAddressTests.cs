using System.Net;
using Ztunnel.Hbone.Server;

namespace Ztunnel.Tests.Hbone.Server;

public sealed class HboneAddressTests
{
    [Theory]
    [InlineData("10.0.0.5:8080", "10.0.0.5", 8080)]
    [InlineData("[fd00::5]:80", "fd00::5", 80)]
    [InlineData("127.0.0.1:65535", "127.0.0.1", 65535)]
    public void TryParseAuthority_IpAndPort_ReturnsEndPoint(string authority, string ip, int port)
    {
        HboneAddress.TryParseAuthority(authority, out var endPoint, out _).ShouldBeTrue();
        endPoint.ShouldBe(new IPEndPoint(IPAddress.Parse(ip), port));
    }

    [Theory]
    [InlineData(null, "no :authority")]
    [InlineData("", "no :authority")]
    [InlineData("10.0.0.5", "'10.0.0.5' is not")]
    [InlineData("svc.ns:80", "'svc.ns:80' is not")]
    [InlineData("10.1:80", "'10.1:80' is not")]
    [InlineData("fd00::5:80", "'fd00::5:80' is not")]
    [InlineData("[fd00::5]", "'[fd00::5]' is not")]
    [InlineData("[10.0.0.5]:80", "'[10.0.0.5]:80' is not")]
    [InlineData("10.0.0.5:+80", "'10.0.0.5:+80' is not")]
    [InlineData("10.0.0.5:65536", "'10.0.0.5:65536' is not")]
    [InlineData("10.0.0.5:0", "port 0")]
    public void TryParseAuthority_Malformed_NamesTheProblem(string? authority, string expected)
    {
        HboneAddress.TryParseAuthority(authority, out _, out string? error).ShouldBeFalse();
        error.ShouldContain(expected);
    }

    [Theory]
    [InlineData("for=\"10.1.2.3:4711\"", "10.1.2.3", 4711)]
    [InlineData("for=10.1.2.3", "10.1.2.3", 0)]
    [InlineData("For=\"[fd00::1]:80\";proto=http", "fd00::1", 80)]
    [InlineData("proto=https;for=10.1.2.3, for=10.9.9.9", "10.1.2.3", 0)]
    public void ParseForwardedFor_FirstNode_IsReturned(string header, string ip, int port)
    {
        HboneAddress.ParseForwardedFor(header).ShouldBe(new IPEndPoint(IPAddress.Parse(ip), port));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("for=unknown")]
    [InlineData("for=_hidden")]
    [InlineData("proto=http")]
    [InlineData("for=\"fd00::1\"")]
    public void ParseForwardedFor_NoUsableAddress_IsNull(string? header)
    {
        HboneAddress.ParseForwardedFor(header).ShouldBeNull();
    }
}
