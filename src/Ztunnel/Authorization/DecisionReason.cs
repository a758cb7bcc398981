namespace Ztunnel.Authorization;

/// <summary>Why a connection was allowed or denied. Stable: used as a metrics/log label.</summary>
internal enum DecisionReason
{
    /// <summary>No DENY matched and no ALLOW policy applies to the workload.</summary>
    AllowedNoPolicy,
    /// <summary>An ALLOW policy rule matched.</summary>
    AllowedByPolicy,
    /// <summary>A DENY policy rule matched.</summary>
    DeniedByPolicy,
    /// <summary>ALLOW policies apply to the workload and none matched.</summary>
    NoAllowMatched,
    /// <summary>PeerAuthentication STRICT applies and the source has no peer identity (plaintext).</summary>
    StrictMtlsRequired,
}
