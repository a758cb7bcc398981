using System.Text;
using Ztunnel.Hbone.Hpack;

namespace Ztunnel.Tests.Hbone.Hpack;

public sealed class StaticTableTests
{
    [Theory]
    [InlineData(":authority", 1)]
    [InlineData(":method", 2)] // first of 2..3
    [InlineData(":status", 8)] // first of 8..14
    [InlineData("accept-encoding", 16)]
    [InlineData("www-authenticate", 61)]
    [InlineData("forwarded", 0)]
    [InlineData(":Authority", 0)] // HTTP/2 names are lowercase; no case folding
    [InlineData("", 0)]
    public void FindName_ReturnsLowestIndexOrZero(string name, int index)
    {
        StaticTable.FindName(Encoding.ASCII.GetBytes(name)).ShouldBe(index);
    }

    [Fact]
    public void Entries_MatchRfc7541AppendixA_Samples()
    {
        Encoding.ASCII.GetString(StaticTable.GetValue(16)).ShouldBe("gzip, deflate");
        Encoding.ASCII.GetString(StaticTable.GetValue(5)).ShouldBe("/index.html");
        Encoding.ASCII.GetString(StaticTable.GetName(55)).ShouldBe("set-cookie");
        StaticTable.GetValue(55).Length.ShouldBe(0);
    }
}
