namespace Ztunnel.Authorization;

/// <summary>The <c>when</c> keys that ztunnel can evaluate at L4 (Istio "Authorization Policy Conditions").</summary>
internal enum ConditionKey
{
    SourceIp,
    SourceNamespace,
    SourcePrincipal,
    DestinationIp,
    DestinationPort,
}
