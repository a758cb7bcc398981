namespace Ztunnel.Authorization;

/// <summary>The actions ztunnel enforces at L4. AUDIT and CUSTOM are dropped at load time (with a warning).</summary>
internal enum AuthorizationAction
{
    Allow,
    Deny,
}
