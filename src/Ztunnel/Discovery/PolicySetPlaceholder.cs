namespace Ztunnel.Discovery;

/// <summary>Stands in for Ztunnel.Authorization.PolicySet until the authz branch lands; replaced on merge.</summary>
public sealed class PolicySetPlaceholder
{
    public static PolicySetPlaceholder Empty { get; } = new();
}
