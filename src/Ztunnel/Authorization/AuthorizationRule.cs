namespace Ztunnel.Authorization;

/// <summary>
/// A compiled rule: from (sources OR), to (operations OR) and when (conditions AND) all must hold.
/// An empty array means "not set" (matches anything).
/// </summary>
internal sealed class AuthorizationRule
{
    /// <summary>Position of the rule in the policy's <c>rules</c> list, as the user wrote it.</summary>
    public required int Index { get; init; }
    public SourceMatch[] From { get; init; } = [];
    public OperationMatch[] To { get; init; } = [];
    public ConditionMatch[] When { get; init; } = [];
}
