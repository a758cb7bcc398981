using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ztunnel.Capture;

/// <summary>
/// Every iptables rule, ip rule and route the daemon installs in a pod's network namespace (DESIGN §3,
/// modelled on istio-cni's in-pod mode), and how they are applied and removed. Apply is idempotent: our
/// chains are flushed and refilled in one iptables-restore transaction, the jumps into them are added
/// only when absent (extra copies are deleted), the ip rule and route only when absent. Calls for one
/// netns must not overlap (two restores would each see the other's half-state); PodRegistry serializes them.
/// </summary>
/// <remarks>
/// The rule set, for IPv4 (IPv6 is the same with <c>::</c> and <c>ip -6</c>):
/// <code>
/// ip rule add fwmark 0x111/0xfff pref 32764 lookup 100
/// ip route replace local default dev lo table 100
/// *mangle
/// -A PREROUTING -j ZTUNNEL_PREROUTING
/// -A OUTPUT -j ZTUNNEL_OUTPUT
/// -A ZTUNNEL_PREROUTING -m mark --mark 0x539/0xfff -j CONNMARK --set-xmark 0x111/0xfff
/// -A ZTUNNEL_PREROUTING -i lo -j RETURN
/// -A ZTUNNEL_PREROUTING -p tcp -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
/// -A ZTUNNEL_PREROUTING -p tcp -m tcp --dport 15008 -j RETURN
/// -A ZTUNNEL_PREROUTING -p tcp -m mark ! --mark 0x539/0xfff -m addrtype --dst-type LOCAL
///     -j TPROXY --on-port 15006 --on-ip 0.0.0.0 --tproxy-mark 0x111/0xfff
/// -A ZTUNNEL_OUTPUT -m mark --mark 0x539/0xfff -j RETURN
/// -A ZTUNNEL_OUTPUT -m connmark --mark 0x111/0xfff -j CONNMARK --restore-mark --nfmask 0xfff --ctmask 0xfff
/// *nat
/// -A OUTPUT -j ZTUNNEL_OUTPUT
/// -A ZTUNNEL_OUTPUT -o lo -j RETURN
/// -A ZTUNNEL_OUTPUT -p tcp -m mark ! --mark 0x539/0xfff -j REDIRECT --to-ports 15001
/// </code>
/// </remarks>
internal sealed partial class PodRules
{
    public const string PreroutingChain = "ZTUNNEL_PREROUTING";
    public const string OutputChain = "ZTUNNEL_OUTPUT";

    private static readonly string DaemonMark = MarkWithMask(InpodConfig.DaemonMark);
    private static readonly string TproxyMark = MarkWithMask(InpodConfig.TproxyMark);
    private static readonly string Mask = Hex(InpodConfig.MarkMask);
    private static readonly string Table = InpodConfig.RouteTable.ToString(CultureInfo.InvariantCulture);

    private static readonly string[] Tables = ["mangle", "nat"];

    /// <summary>The jumps from the built-in chains into ours: (table, built-in chain, our chain).</summary>
    private static readonly (string Table, string Hook, string Chain)[] Jumps =
    [
        ("mangle", "PREROUTING", PreroutingChain),
        ("mangle", "OUTPUT", OutputChain),
        ("nat", "OUTPUT", OutputChain),
    ];

    private readonly CaptureOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;

    public PodRules(CaptureOptions? options = null, ILogger<PodRules>? logger = null, TimeProvider? timeProvider = null)
    {
        _options = options ?? new CaptureOptions();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The rules of our chains, in order, as (table, rule line).</summary>
    internal static (string Table, string Rule)[] ChainRules(bool ipv6) =>
    [
        // Inbound (mangle PREROUTING). The daemon's own packets reach PREROUTING only over lo (its
        // spoofed-source connections to the app): tag the connection so the app's replies come back.
        ("mangle", $"-A {PreroutingChain} -m mark --mark {DaemonMark} -j CONNMARK --set-xmark {TproxyMark}"),
        // Everything over lo is the pod talking to itself (loopback, its own IP, the daemon to the app,
        // redirected outbound): never inbound capture.
        ("mangle", $"-A {PreroutingChain} -i lo -j RETURN"),
        // Packets of existing connections: replies to the daemon's outbound sockets (TPROXY would find a
        // non-transparent socket and drop them) and the rest of already diverted connections. Conntrack,
        // not `-m socket`: that also matches a listener the app bound to the pod IP, so the app's first
        // SYN would bypass capture.
        ("mangle", $"-A {PreroutingChain} -p tcp -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN"),
        // HBONE is reached directly on podIP:15008.
        ("mangle", $"-A {PreroutingChain} -p tcp -m tcp --dport {InpodConfig.InboundHbonePort} -j RETURN"),
        // New TCP connections to the pod: divert to the transparent 15006 listener, keeping the original
        // destination as its local address; the mark routes them to lo through table 100.
        ("mangle", $"-A {PreroutingChain} -p tcp -m mark ! --mark {DaemonMark} -m addrtype --dst-type LOCAL " +
            $"-j TPROXY --on-port {InpodConfig.InboundPlaintextPort} --on-ip {(ipv6 ? "::" : "0.0.0.0")} --tproxy-mark {TproxyMark}"),
        // The daemon's own packets keep its mark. Its connection to the app is tagged too (first rule above), so
        // the restore below would rewrite their mark to 0x111; mangle OUTPUT re-routes every packet whose mark
        // changed (a full route lookup each), and they go to a local address either way. (istio-cni restores
        // on them too; this one rule saves that lookup per packet the daemon sends to the app.)
        ("mangle", $"-A {OutputChain} -m mark --mark {DaemonMark} -j RETURN"),
        // Return path: the app's replies to a spoofed source get the mark back, and mangle OUTPUT re-routes
        // them through table 100 to the daemon's socket instead of out of the pod.
        ("mangle", $"-A {OutputChain} -m connmark --mark {TproxyMark} -j CONNMARK --restore-mark --nfmask {Mask} --ctmask {Mask}"),

        // Outbound (nat OUTPUT). Loopback and the pod's own IP both leave through lo: not captured.
        ("nat", $"-A {OutputChain} -o lo -j RETURN"),
        // Every other TCP connection the app opens goes to 15001; SO_ORIGINAL_DST gives the destination.
        ("nat", $"-A {OutputChain} -p tcp -m mark ! --mark {DaemonMark} -j REDIRECT --to-ports {InpodConfig.OutboundPort}"),
    ];

    /// <summary>Policy routing: TPROXY-marked packets and restored replies are delivered locally.</summary>
    private static string[] RuleArguments(string verb, bool ipv6) =>
        [ipv6 ? "-6" : "-4", "rule", verb, "fwmark", TproxyMark, "pref", InpodConfig.RulePriority.ToString(CultureInfo.InvariantCulture), "lookup", Table];

    private static string[] RouteArguments(string verb, bool ipv6) =>
        [ipv6 ? "-6" : "-4", "route", verb, "local", "default", "dev", "lo", "table", Table];

    /// <summary>Installs (or re-installs) capture in the pod netns; IPv6 too when <paramref name="ipv6"/>.</summary>
    public async Task ApplyAsync(string netnsPath, bool ipv6, CancellationToken cancellationToken)
    {
        await ApplyFamilyAsync(netnsPath, ipv6: false, cancellationToken);
        if (ipv6)
        {
            await ApplyFamilyAsync(netnsPath, ipv6: true, cancellationToken);
        }
        LogApplied(netnsPath, ipv6);
    }

    /// <summary>
    /// Deletes everything <see cref="ApplyAsync"/> added. Succeeds when parts are already gone; a netns
    /// that no longer exists took its rules with it.
    /// </summary>
    public async Task RemoveAsync(string netnsPath, bool ipv6, CancellationToken cancellationToken)
    {
        if (!File.Exists(netnsPath))
        {
            LogNetnsGone(netnsPath);
            return;
        }
        await RemoveFamilyAsync(netnsPath, ipv6: false, cancellationToken);
        if (ipv6)
        {
            await RemoveFamilyAsync(netnsPath, ipv6: true, cancellationToken);
        }
        LogRemoved(netnsPath);
    }

    private async Task ApplyFamilyAsync(string netnsPath, bool ipv6, CancellationToken cancellationToken)
    {
        // Routing first, so the first diverted packet already has somewhere to go.
        (await RunAsync(netnsPath, _options.Ip, RouteArguments("replace", ipv6), null, cancellationToken)).EnsureSuccess();
        CommandResult rule = await RunAsync(netnsPath, _options.Ip, RuleArguments("add", ipv6), null, cancellationToken);
        if (!rule.Succeeded && !rule.Stderr.Contains("File exists", StringComparison.Ordinal))
        {
            throw rule.Failure();
        }
        IptablesState state = await SaveAsync(netnsPath, ipv6, cancellationToken);
        string restore = BuildApply(state, ipv6);
        (await RunAsync(netnsPath, ipv6 ? _options.Ip6tablesRestore : _options.IptablesRestore, ["-w", "--noflush"], restore, cancellationToken)).EnsureSuccess();
    }

    private async Task RemoveFamilyAsync(string netnsPath, bool ipv6, CancellationToken cancellationToken)
    {
        IptablesState state = await SaveAsync(netnsPath, ipv6, cancellationToken);
        string? restore = BuildRemove(state);
        if (restore is not null)
        {
            (await RunAsync(netnsPath, ipv6 ? _options.Ip6tablesRestore : _options.IptablesRestore, ["-w", "--noflush"], restore, cancellationToken)).EnsureSuccess();
        }
        // `ip rule del` removes one copy per call; someone may have added ours twice.
        for (int copies = 0; copies < 16; copies++)
        {
            CommandResult rule = await RunAsync(netnsPath, _options.Ip, RuleArguments("del", ipv6), null, cancellationToken);
            if (rule.Succeeded)
            {
                continue;
            }
            if (rule.Stderr.Contains("No such file or directory", StringComparison.Ordinal))
            {
                break;
            }
            throw rule.Failure();
        }
        CommandResult route = await RunAsync(netnsPath, _options.Ip, RouteArguments("del", ipv6), null, cancellationToken);
        if (!route.Succeeded && !route.Stderr.Contains("No such process", StringComparison.Ordinal))
        {
            throw route.Failure();
        }
    }

    /// <summary>Our chains declared (created, or flushed if they exist), the jumps made single, the rules.</summary>
    internal static string BuildApply(IptablesState state, bool ipv6)
    {
        var text = new StringBuilder();
        (string Table, string Rule)[] rules = ChainRules(ipv6);
        foreach (string table in Tables)
        {
            text.Append('*').Append(table).Append('\n');
            foreach (string chain in ChainsOf(table))
            {
                text.Append(':').Append(chain).Append(" - [0:0]\n");
            }
            foreach ((string jumpTable, string hook, string chain) in Jumps)
            {
                if (jumpTable != table)
                {
                    continue;
                }
                string jump = $"-A {hook} -j {chain}";
                int copies = state.Count(table, jump);
                if (copies == 0)
                {
                    text.Append(jump).Append('\n');
                }
                for (int extra = 1; extra < copies; extra++)
                {
                    text.Append($"-D {hook} -j {chain}\n");
                }
            }
            foreach ((string ruleTable, string rule) in rules)
            {
                if (ruleTable == table)
                {
                    text.Append(rule).Append('\n');
                }
            }
            text.Append("COMMIT\n");
        }
        return text.ToString();
    }

    /// <summary>Every jump deleted, our chains flushed and deleted; null when there is nothing of ours.</summary>
    internal static string? BuildRemove(IptablesState state)
    {
        var text = new StringBuilder();
        foreach (string table in Tables)
        {
            var lines = new StringBuilder();
            foreach ((string jumpTable, string hook, string chain) in Jumps)
            {
                int copies = jumpTable == table ? state.Count(table, $"-A {hook} -j {chain}") : 0;
                for (int i = 0; i < copies; i++)
                {
                    lines.Append($"-D {hook} -j {chain}\n");
                }
            }
            foreach (string chain in ChainsOf(table))
            {
                if (state.HasChain(table, chain))
                {
                    lines.Append($"-F {chain}\n-X {chain}\n");
                }
            }
            if (lines.Length > 0)
            {
                text.Append('*').Append(table).Append('\n').Append(lines).Append("COMMIT\n");
            }
        }
        return text.Length > 0 ? text.ToString() : null;
    }

    private static IEnumerable<string> ChainsOf(string table)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string jumpTable, _, string chain) in Jumps)
        {
            if (jumpTable == table && seen.Add(chain))
            {
                yield return chain;
            }
        }
    }

    private async Task<IptablesState> SaveAsync(string netnsPath, bool ipv6, CancellationToken cancellationToken)
    {
        CommandResult save = await RunAsync(netnsPath, ipv6 ? _options.Ip6tablesSave : _options.IptablesSave, [], null, cancellationToken);
        return IptablesState.Parse(save.EnsureSuccess().Stdout);
    }

    private Task<CommandResult> RunAsync(string netnsPath, string tool, IReadOnlyList<string> arguments, string? input, CancellationToken cancellationToken) =>
        NetnsCommand.RunAsync(_options, netnsPath, tool, arguments, input, _timeProvider, cancellationToken);

    private static string MarkWithMask(uint mark) => $"{Hex(mark)}/{Hex(InpodConfig.MarkMask)}";

    private static string Hex(uint value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    [LoggerMessage(EventId = 310, Level = LogLevel.Information, Message = "Capture rules installed in netns {Netns} (IPv6: {Ipv6})")]
    private partial void LogApplied(string netns, bool ipv6);

    [LoggerMessage(EventId = 311, Level = LogLevel.Information, Message = "Capture rules removed from netns {Netns}")]
    private partial void LogRemoved(string netns);

    [LoggerMessage(EventId = 312, Level = LogLevel.Debug, Message = "Netns {Netns} is gone; its capture rules went with it")]
    private partial void LogNetnsGone(string netns);
}
