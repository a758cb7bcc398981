namespace Ztunnel.Authorization;

/// <summary>
/// Decides one connection with Istio's ambient L4 semantics; the daemon and <c>ztunnel authz check</c> both call this.
/// Order: PeerAuthentication STRICT without a peer identity denies; any matching DENY denies; if ALLOW policies
/// apply to the workload one of them must match; otherwise allow.
/// </summary>
internal static class AuthorizationEvaluator
{
    public static AuthorizationDecision Evaluate(PolicySet policies, in AuthorizationRequest request) =>
        throw new NotImplementedException();
}
