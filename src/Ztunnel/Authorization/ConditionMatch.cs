using System.Net;

namespace Ztunnel.Authorization;

/// <summary>
/// One <c>when</c> condition. Exactly one pair of typed arrays is used, chosen by <see cref="Key"/>:
/// IP keys use networks, the port key uses ports, the rest use string matches.
/// </summary>
internal sealed class ConditionMatch
{
    public required ConditionKey Key { get; init; }
    public StringMatch[] Values { get; init; } = [];
    public StringMatch[] NotValues { get; init; } = [];
    public IPNetwork[] IpValues { get; init; } = [];
    public IPNetwork[] NotIpValues { get; init; } = [];
    public int[] PortValues { get; init; } = [];
    public int[] NotPortValues { get; init; } = [];
}
