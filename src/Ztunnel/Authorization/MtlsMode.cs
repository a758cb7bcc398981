namespace Ztunnel.Authorization;

/// <summary>PeerAuthentication <c>mtls.mode</c>. Unset inherits from the next wider scope.</summary>
internal enum MtlsMode
{
    Unset,
    // At L4 ztunnel always accepts plaintext when not STRICT, so DISABLE behaves as PERMISSIVE.
    Disable,
    Permissive,
    Strict,
}
