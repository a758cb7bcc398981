namespace Ztunnel.Authorization;

/// <summary>Names a policy (AuthorizationPolicy or PeerAuthentication) as <c>namespace/name</c> in logs and explanations.</summary>
internal readonly record struct PolicyRef(string Namespace, string Name)
{
    public override string ToString() => $"{Namespace}/{Name}";
}
