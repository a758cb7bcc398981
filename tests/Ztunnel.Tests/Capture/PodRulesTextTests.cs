using System.Text.RegularExpressions;
using Ztunnel.Capture;
using Ztunnel.Tests.Discovery;

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

    /// <summary>
    /// make bench's floor scenario installs a copy of these rules (it runs without a daemon); a copy that
    /// drifted would measure some other capture path and call it Ztunnel's.
    /// </summary>
    [Fact]
    public void BenchFloorRules_AreWhatTheDaemonInstallsInAFreshPod()
    {
        string peers = File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot(), "scripts", "bench", "peers.sh"));
        Match floor = Regex.Match(peers, "^FLOOR_RULES='([^']*)'$", RegexOptions.Multiline);
        floor.Success.ShouldBeTrue("scripts/bench/peers.sh has no FLOOR_RULES='...' block");

        string daemon = PodRules.BuildApply(IptablesState.Parse(Fresh), ipv6: false);

        Lines(floor.Groups[1].Value).ShouldBe(Lines(daemon.TrimEnd('\n')));
        peers.ShouldContain($"ip rule add fwmark 0x{InpodConfig.TproxyMark:x}/0x{InpodConfig.MarkMask:x} " +
            $"pref {InpodConfig.RulePriority} lookup {InpodConfig.RouteTable}");
        peers.ShouldContain($"ip route replace local default dev lo table {InpodConfig.RouteTable}");
    }

    private static string[] Lines(string text) => text.Split('\n');
}
