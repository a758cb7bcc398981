using System.Globalization;
using System.Text;

namespace Ztunnel.Authorization;

/// <summary>
/// Turns a decision into words: which policy and rule decided, or that none applied and why. Off the connection
/// path (CLI, debug logs), so it may allocate; it re-walks the same matchers the evaluator used.
/// </summary>
internal static class AuthorizationExplainer
{
    public static string Summary(AuthorizationDecision decision) => decision.Reason switch
    {
        DecisionReason.AllowedNoPolicy => "allowed: no ALLOW policy applies to the workload and no DENY matched",
        DecisionReason.AllowedByPolicy => $"allowed by ALLOW policy {decision.DecidingPolicy} rule {decision.RuleIndex}",
        DecisionReason.DeniedByPolicy => $"denied by DENY policy {decision.DecidingPolicy} rule {decision.RuleIndex}",
        DecisionReason.NoAllowMatched => "denied: no ALLOW matched",
        _ => $"denied: PeerAuthentication {decision.DecidingPolicy} requires mTLS (STRICT) and the connection has no peer identity",
    };

    public static IReadOnlyList<string> Explain(AuthorizationDecision decision, PolicySet policies, in AuthorizationRequest request)
    {
        var lines = new List<string> { decision.Summary };
        lines.Add($"destination: namespace {request.DestinationNamespace}, labels {FormatLabels(request.DestinationLabels)}, {FormatEndpoint(request.DestinationIp.ToString(), request.DestinationPort)}");
        lines.Add($"source: {(request.SourceIdentity is { } id ? id.ToString() : "no peer identity (plaintext)")}, ip {request.SourceIp?.ToString() ?? "unknown"}");

        var mtls = AuthorizationEvaluator.ResolveMtls(policies, request);
        lines.Add(mtls.Policy is null
            ? "mTLS: PERMISSIVE (no PeerAuthentication applies)"
            : $"mTLS: {mtls.Mode.ToString().ToUpperInvariant()} from PeerAuthentication {mtls.Policy.Ref} ({PeerScope(policies, mtls)}, {mtls.Policy.Location})"
                + (mtls.Mode == MtlsMode.Disable ? "; DISABLE is treated as PERMISSIVE" : ""));
        if (decision.Reason == DecisionReason.StrictMtlsRequired)
        {
            lines.Add("AuthorizationPolicies were not consulted: STRICT mTLS refuses connections without a peer identity first");
            return lines;
        }

        var ctx = new MatchContext(request, policies.TrustDomain);
        var applicable = Applicable(policies, request);
        if (applicable.Count == 0)
        {
            lines.Add(policies.AuthorizationPolicies.Count == 0
                ? "no AuthorizationPolicy is loaded"
                : $"none of the {policies.AuthorizationPolicies.Count} loaded AuthorizationPolicies applies to this workload (root namespace {policies.RootNamespace}; policies apply mesh-wide from there, else to their own namespace, narrowed by selector)");
        }
        foreach (var (policy, scope) in applicable)
        {
            int rule = RuleMatcher.FirstMatch(policy, ctx);
            string action = policy.Action == AuthorizationAction.Allow ? "ALLOW" : "DENY";
            string outcome = rule >= 0 ? $"rule {policy.Rules[rule].Index} matched"
                : policy.Rules.Length == 0 ? "has no usable rules: matches nothing"
                : "no rule matched";
            lines.Add($"{(policy.DryRun ? "dry-run " : "")}{action} {policy.Ref} ({scope}, {policy.Location}): {outcome}");
            foreach (string note in policy.Notes)
            {
                lines.Add($"  note: {note}");
            }
        }
        if (decision.Reason == DecisionReason.NoAllowMatched)
        {
            lines.Add("ALLOW policies apply to this workload, so a connection must match one of them; none did");
        }
        foreach (string finding in decision.DryRunFindings)
        {
            lines.Add(finding);
        }
        if (decision.DryRunAllowed is { } dryRunAllowed && dryRunAllowed != decision.Allowed)
        {
            lines.Add($"dry-run: enforcing the dry-run policies would change the decision to {(dryRunAllowed ? "ALLOW" : "DENY")}");
        }
        return lines;
    }

    /// <summary>The AuthorizationPolicies that apply to the destination workload, in evaluation order, with their scope.</summary>
    public static List<(AuthorizationPolicy Policy, string Scope)> Applicable(PolicySet policies, in AuthorizationRequest request)
    {
        var result = new List<(AuthorizationPolicy, string)>();
        foreach (var p in policies.MeshWide)
        {
            result.Add((p, "mesh-wide"));
        }
        foreach (var p in policies.MeshSelected)
        {
            if (AuthorizationEvaluator.SelectorMatches(p.SelectorLabels, request.DestinationLabels))
            {
                result.Add((p, $"mesh-wide, selector {FormatLabels(p.Selector!)}"));
            }
        }
        if (request.DestinationNamespace != policies.RootNamespace)
        {
            var ns = policies.ForNamespace(request.DestinationNamespace);
            foreach (var p in ns.NamespaceWide)
            {
                result.Add((p, "namespace"));
            }
            foreach (var p in ns.Selected)
            {
                if (AuthorizationEvaluator.SelectorMatches(p.SelectorLabels, request.DestinationLabels))
                {
                    result.Add((p, $"workload, selector {FormatLabels(p.Selector!)}"));
                }
            }
        }
        return result;
    }

    private static string PeerScope(PolicySet policies, MtlsResolution mtls) =>
        mtls.PortLevel ? "workload, port level"
        : mtls.Policy!.Selector is not null ? "workload"
        : mtls.Policy.Ref.Namespace == policies.RootNamespace ? "mesh-wide" : "namespace";

    private static string FormatLabels(IReadOnlyDictionary<string, string> labels)
    {
        if (labels.Count == 0)
        {
            return "{}";
        }
        var sb = new StringBuilder("{");
        foreach (var (key, value) in labels.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            sb.Append(sb.Length > 1 ? ", " : "").Append(key).Append('=').Append(value);
        }
        return sb.Append('}').ToString();
    }

    private static string FormatEndpoint(string ip, int port) =>
        ip.Contains(':', StringComparison.Ordinal) ? $"[{ip}]:{port.ToString(CultureInfo.InvariantCulture)}" : $"{ip}:{port.ToString(CultureInfo.InvariantCulture)}";
}
