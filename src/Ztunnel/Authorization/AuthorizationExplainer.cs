namespace Ztunnel.Authorization;

/// <summary>Turns a decision into words. Off the connection path: it may allocate freely.</summary>
internal static class AuthorizationExplainer
{
    public static string Summary(AuthorizationDecision decision) => decision.Reason.ToString();

    public static IReadOnlyList<string> Explain(AuthorizationDecision decision, PolicySet policies, in AuthorizationRequest request) =>
        [decision.Summary];
}
