using System.Net;

namespace Ztunnel.Authorization;

/// <summary>
/// One <c>from[].source</c> with only its L4 fields. Fields AND, values within a field OR; an empty array
/// means the field was not set. A <c>not*</c> field holds when the value is absent or matches none.
/// </summary>
internal sealed class SourceMatch
{
    public static readonly SourceMatch Any = new();

    public StringMatch[] Principals { get; init; } = [];
    public StringMatch[] NotPrincipals { get; init; } = [];
    public StringMatch[] Namespaces { get; init; } = [];
    public StringMatch[] NotNamespaces { get; init; } = [];
    public ServiceAccountRef[] ServiceAccounts { get; init; } = [];
    public ServiceAccountRef[] NotServiceAccounts { get; init; } = [];
    public IPNetwork[] IpBlocks { get; init; } = [];
    public IPNetwork[] NotIpBlocks { get; init; } = [];
}
