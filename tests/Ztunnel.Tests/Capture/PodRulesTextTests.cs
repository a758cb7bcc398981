using Ztunnel.Capture;

namespace Ztunnel.Tests.Capture;

/// <summary>
/// The idempotency bookkeeping of <see cref="PodRules"/> against iptables-save dumps (what the rules do
/// to traffic is tested for real in Ztunnel.E2E/Capture).
/// </summary>
public sealed class PodRulesTextTests
{
    private const string Fresh = """
        *mangle
        :PREROUTING ACCEPT [0:0]
        :OUTPUT ACCEPT [0:0]
        COMMIT
        """;

    private const string Installed = """
        *mangle
        :PREROUTING ACCEPT [0:0]
        :OUTPUT ACCEPT [0:0]
        :ZTUNNEL_OUTPUT - [0:0]
        :ZTUNNEL_PREROUTING - [0:0]
        -A PREROUTING -j ZTUNNEL_PREROUTING
        -A OUTPUT -j ZTUNNEL_OUTPUT
        -A ZTUNNEL_PREROUTING -i lo -j RETURN
        COMMIT
        *nat
        :OUTPUT ACCEPT [0:0]
        :ZTUNNEL_OUTPUT - [0:0]
        -A OUTPUT -j ZTUNNEL_OUTPUT
        -A OUTPUT -j ZTUNNEL_OUTPUT
        -A OUTPUT -j ZTUNNEL_OUTPUT
        COMMIT
        """;

    [Fact]
    public void BuildApply_FreshNetns_AddsEachJumpOnce()
    {
        string restore = PodRules.BuildApply(IptablesState.Parse(Fresh), ipv6: false);

        Lines(restore).Count(l => l == "-A PREROUTING -j ZTUNNEL_PREROUTING").ShouldBe(1);
        Lines(restore).Count(l => l == "-A OUTPUT -j ZTUNNEL_OUTPUT").ShouldBe(2); // mangle and nat
        Lines(restore).ShouldNotContain(l => l.StartsWith("-D ", StringComparison.Ordinal));
    }

    [Fact]
    public void BuildApply_JumpsPresent_KeepsOneCopyAndDeclaresChainsToFlushThem()
    {
        string restore = PodRules.BuildApply(IptablesState.Parse(Installed), ipv6: false);

        Lines(restore).ShouldNotContain("-A PREROUTING -j ZTUNNEL_PREROUTING");
        Lines(restore).ShouldNotContain("-A OUTPUT -j ZTUNNEL_OUTPUT");
        Lines(restore).Count(l => l == "-D OUTPUT -j ZTUNNEL_OUTPUT").ShouldBe(2); // nat had three copies
        Lines(restore).Count(l => l == ":ZTUNNEL_OUTPUT - [0:0]").ShouldBe(2);
    }

    [Fact]
    public void BuildApply_Ipv6_TproxiesToAnyIpv6Address()
    {
        PodRules.BuildApply(IptablesState.Parse(Fresh), ipv6: true).ShouldContain("--on-ip :: ");
    }

    [Fact]
    public void BuildRemove_Installed_DeletesEveryJumpAndChain()
    {
        string restore = PodRules.BuildRemove(IptablesState.Parse(Installed))!;

        Lines(restore).Count(l => l == "-D OUTPUT -j ZTUNNEL_OUTPUT").ShouldBe(4); // 1 in mangle, 3 in nat
        Lines(restore).Count(l => l == "-D PREROUTING -j ZTUNNEL_PREROUTING").ShouldBe(1);
        Lines(restore).Count(l => l.StartsWith("-X ZTUNNEL_", StringComparison.Ordinal)).ShouldBe(3);
    }

    [Fact]
    public void BuildRemove_NothingOfOurs_ReturnsNull()
    {
        PodRules.BuildRemove(IptablesState.Parse(Fresh)).ShouldBeNull();
    }

    [Theory]
    [InlineData(15001, true)]
    [InlineData(15006, true)]
    [InlineData(15008, true)]
    [InlineData(80, false)]
    public void IsDaemonPort_NamesOurListeners(int port, bool expected)
    {
        InpodConfig.IsDaemonPort(port).ShouldBe(expected);
    }

    private static string[] Lines(string text) => text.Split('\n');
}
