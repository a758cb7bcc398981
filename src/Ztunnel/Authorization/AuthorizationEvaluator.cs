namespace Ztunnel.Authorization;

/// <summary>
/// Decides one connection with Istio's ambient L4 semantics; the daemon and <c>ztunnel authz check</c> both call this.
/// Order: PeerAuthentication STRICT without a peer identity denies; any matching DENY denies; if ALLOW policies
/// apply to the workload one of them must match; otherwise allow. Dry-run policies are evaluated on the side.
/// </summary>
internal static class AuthorizationEvaluator
{
    private static readonly string[] NoFindings = [];

    public static AuthorizationDecision Evaluate(PolicySet policies, in AuthorizationRequest request)
    {
        var ctx = new MatchContext(request, policies.TrustDomain);
        if (!ctx.HasIdentity)
        {
            var mtls = ResolveMtls(policies, request);
            if (mtls.Strict)
            {
                return new AuthorizationDecision(policies, request, DecisionReason.StrictMtlsRequired, mtls.Policy!.Ref, -1, null, NoFindings);
            }
        }

        var state = new State();
        var ns = policies.ForNamespace(request.DestinationNamespace);
        var labels = request.DestinationLabels;
        Visit(policies.MeshWide, false, labels, ctx, ref state);
        Visit(policies.MeshSelected, true, labels, ctx, ref state);
        if (request.DestinationNamespace != policies.RootNamespace)
        {
            Visit(ns.NamespaceWide, false, labels, ctx, ref state);
            Visit(ns.Selected, true, labels, ctx, ref state);
        }

        DecisionReason reason;
        PolicyRef? decider = null;
        int rule = -1;
        if (state.Deny is not null)
        {
            (reason, decider, rule) = (DecisionReason.DeniedByPolicy, state.Deny.Ref, state.DenyRule);
        }
        else if (state.Allow is not null)
        {
            (reason, decider, rule) = (DecisionReason.AllowedByPolicy, state.Allow.Ref, state.AllowRule);
        }
        else
        {
            reason = state.AllowApplies ? DecisionReason.NoAllowMatched : DecisionReason.AllowedNoPolicy;
        }

        bool? dryRunAllowed = null;
        if (state.DryRunApplies)
        {
            bool denied = state.Deny is not null || state.DryRunDenyMatched;
            bool allowApplies = state.AllowApplies || state.DryRunAllowApplies;
            dryRunAllowed = !denied && (!allowApplies || state.Allow is not null || state.DryRunAllowMatched);
        }
        return new AuthorizationDecision(policies, request, reason, decider, rule, dryRunAllowed, state.Findings ?? (IReadOnlyList<string>)NoFindings);
    }

    /// <summary>Whether a <c>selector.matchLabels</c> (as pairs) selects a workload with <paramref name="labels"/>; the namespace is matched by the caller.</summary>
    public static bool SelectorMatches(KeyValuePair<string, string>[] selector, IReadOnlyDictionary<string, string> labels)
    {
        foreach (var (key, value) in selector)
        {
            if (!labels.TryGetValue(key, out string? actual) || actual != value)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Effective mTLS mode for the destination port: workload port-level, then workload, then namespace, then mesh
    /// (root namespace); UNSET defers to the next; nothing set means PERMISSIVE. Root-namespace selectors are ignored.
    /// </summary>
    public static MtlsResolution ResolveMtls(PolicySet policies, in AuthorizationRequest request)
    {
        var ns = request.DestinationNamespace == policies.RootNamespace ? NamespacePolicies.Empty : policies.ForNamespace(request.DestinationNamespace);
        foreach (var workload in ns.WorkloadPeerAuthentications)
        {
            if (!SelectorMatches(workload.SelectorLabels, request.DestinationLabels))
            {
                continue;
            }
            // The first matching workload policy wins (Istio picks the oldest; we keep input order).
            if (workload.PortModes.TryGetValue(request.DestinationPort, out var portMode) && portMode != MtlsMode.Unset)
            {
                return new MtlsResolution(portMode, workload, true);
            }
            if (workload.Mode != MtlsMode.Unset)
            {
                return new MtlsResolution(workload.Mode, workload, false);
            }
            break;
        }
        if (ns.NamespacePeerAuthentication is { Mode: not MtlsMode.Unset } nsPolicy)
        {
            return new MtlsResolution(nsPolicy.Mode, nsPolicy, false);
        }
        if (policies.MeshPeerAuthentication is { Mode: not MtlsMode.Unset } meshPolicy)
        {
            return new MtlsResolution(meshPolicy.Mode, meshPolicy, false);
        }
        return new MtlsResolution(MtlsMode.Permissive, null, false);
    }

    private static void Visit(AuthorizationPolicy[] candidates, bool checkSelector, IReadOnlyDictionary<string, string> labels, in MatchContext ctx, ref State state)
    {
        foreach (var policy in candidates)
        {
            if (checkSelector && !SelectorMatches(policy.SelectorLabels, labels))
            {
                continue;
            }
            if (policy.DryRun)
            {
                VisitDryRun(policy, ctx, ref state);
            }
            else if (policy.Action == AuthorizationAction.Deny)
            {
                if (state.Deny is null)
                {
                    int rule = RuleMatcher.FirstMatch(policy, ctx);
                    if (rule >= 0)
                    {
                        state.Deny = policy;
                        state.DenyRule = policy.Rules[rule].Index;
                    }
                }
            }
            else
            {
                state.AllowApplies = true;
                if (state.Allow is null && state.Deny is null)
                {
                    int rule = RuleMatcher.FirstMatch(policy, ctx);
                    if (rule >= 0)
                    {
                        state.Allow = policy;
                        state.AllowRule = policy.Rules[rule].Index;
                    }
                }
            }
        }
    }

    // Off the common path: only policies annotated istio.io/dry-run get here, and findings are for the log.
    private static void VisitDryRun(AuthorizationPolicy policy, in MatchContext ctx, ref State state)
    {
        state.DryRunApplies = true;
        int rule = RuleMatcher.FirstMatch(policy, ctx);
        string? finding = null;
        if (policy.Action == AuthorizationAction.Deny)
        {
            if (rule >= 0)
            {
                state.DryRunDenyMatched = true;
                finding = $"dry-run DENY policy {policy.Ref} rule {policy.Rules[rule].Index} matched: would deny";
            }
        }
        else
        {
            state.DryRunAllowApplies = true;
            if (rule >= 0)
            {
                state.DryRunAllowMatched = true;
                finding = $"dry-run ALLOW policy {policy.Ref} rule {policy.Rules[rule].Index} matched: would allow";
            }
            else
            {
                finding = $"dry-run ALLOW policy {policy.Ref} applies and no rule matched: would deny unless another ALLOW matches";
            }
        }
        if (finding is not null)
        {
            (state.Findings ??= []).Add(finding);
        }
    }

    private struct State
    {
        public AuthorizationPolicy? Deny;
        public int DenyRule;
        public AuthorizationPolicy? Allow;
        public int AllowRule;
        public bool AllowApplies;
        public bool DryRunApplies;
        public bool DryRunDenyMatched;
        public bool DryRunAllowApplies;
        public bool DryRunAllowMatched;
        public List<string>? Findings;
    }
}
