namespace Ztunnel.Authorization;

/// <summary>An entry of <c>serviceAccounts</c>: <c>namespace/name</c>, matched against the peer identity regardless of trust domain.</summary>
internal readonly record struct ServiceAccountRef(string Namespace, string Name)
{
    public override string ToString() => $"{Namespace}/{Name}";
}
