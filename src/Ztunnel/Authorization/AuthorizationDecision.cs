namespace Ztunnel.Authorization;

/// <summary>
/// The outcome of <see cref="AuthorizationEvaluator.Evaluate"/>: allowed or not, why, and which policy and rule decided.
/// <see cref="Explain"/> builds the human explanation on demand (never on the connection path).
/// </summary>
internal sealed class AuthorizationDecision
{
    private readonly PolicySet _policies;
    private readonly AuthorizationRequest _request;

    internal AuthorizationDecision(
        PolicySet policies,
        in AuthorizationRequest request,
        DecisionReason reason,
        PolicyRef? decidingPolicy,
        int ruleIndex,
        bool? dryRunAllowed,
        IReadOnlyList<string> dryRunFindings)
    {
        _policies = policies;
        _request = request;
        Reason = reason;
        DecidingPolicy = decidingPolicy;
        RuleIndex = ruleIndex;
        DryRunAllowed = dryRunAllowed;
        DryRunFindings = dryRunFindings;
    }

    public bool Allowed => Reason is DecisionReason.AllowedByPolicy or DecisionReason.AllowedNoPolicy;
    public DecisionReason Reason { get; }
    /// <summary>The AuthorizationPolicy (or, for <see cref="DecisionReason.StrictMtlsRequired"/>, the PeerAuthentication) that decided; null when none did.</summary>
    public PolicyRef? DecidingPolicy { get; }
    /// <summary>Index of the deciding rule in the policy's <c>rules</c>; -1 when no rule decided.</summary>
    public int RuleIndex { get; }
    /// <summary>What the decision would be if the dry-run policies that apply were enforced; null when none apply.</summary>
    public bool? DryRunAllowed { get; }
    /// <summary>One line per dry-run policy that matched (for the log), empty when none.</summary>
    public IReadOnlyList<string> DryRunFindings { get; }

    /// <summary>Short form for a log line: "denied by DENY policy ns/name rule 0", "no ALLOW matched", ...</summary>
    public string Summary => AuthorizationExplainer.Summary(this);

    /// <summary>Lines explaining the decision: which policy and rule decided, or that none applied and why.</summary>
    public IReadOnlyList<string> Explain() => AuthorizationExplainer.Explain(this, _policies, _request);

    public override string ToString() => Summary;
}
