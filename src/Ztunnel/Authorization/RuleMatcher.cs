using System.Net;

namespace Ztunnel.Authorization;

/// <summary>
/// Rule matching with Istio semantics: rules OR; within a rule from, to and when AND; sources (and operations) OR;
/// fields AND; values OR. A positive field needs the attribute to be present; a <c>not*</c> field holds when the
/// attribute is absent or matches none of its values. Allocation free.
/// </summary>
internal static class RuleMatcher
{
    /// <summary>Index into <see cref="AuthorizationPolicy.Rules"/> of the first matching rule, or -1.</summary>
    public static int FirstMatch(AuthorizationPolicy policy, in MatchContext ctx)
    {
        var rules = policy.Rules;
        for (int i = 0; i < rules.Length; i++)
        {
            if (Matches(rules[i], ctx))
            {
                return i;
            }
        }
        return -1;
    }

    public static bool Matches(AuthorizationRule rule, in MatchContext ctx)
    {
        if (rule.From.Length > 0)
        {
            bool any = false;
            foreach (var source in rule.From)
            {
                if (Matches(source, ctx))
                {
                    any = true;
                    break;
                }
            }
            if (!any)
            {
                return false;
            }
        }
        if (rule.To.Length > 0)
        {
            bool any = false;
            foreach (var operation in rule.To)
            {
                if (Matches(operation, ctx.DestinationPort))
                {
                    any = true;
                    break;
                }
            }
            if (!any)
            {
                return false;
            }
        }
        foreach (var condition in rule.When)
        {
            if (!Matches(condition, ctx))
            {
                return false;
            }
        }
        return true;
    }

    public static bool Matches(SourceMatch source, in MatchContext ctx) =>
        Positive(source.Principals, ctx, Kind.Principal) && Negative(source.NotPrincipals, ctx, Kind.Principal)
        && Positive(source.Namespaces, ctx, Kind.Namespace) && Negative(source.NotNamespaces, ctx, Kind.Namespace)
        && PositiveServiceAccounts(source.ServiceAccounts, ctx) && !AnyServiceAccount(source.NotServiceAccounts, ctx)
        && PositiveIp(source.IpBlocks, ctx.SourceIp) && !AnyIp(source.NotIpBlocks, ctx.SourceIp);

    public static bool Matches(OperationMatch operation, int port) =>
        (operation.Ports.Length == 0 || Array.IndexOf(operation.Ports, port) >= 0)
        && Array.IndexOf(operation.NotPorts, port) < 0;

    public static bool Matches(ConditionMatch condition, in MatchContext ctx) => condition.Key switch
    {
        ConditionKey.SourceIp => PositiveIp(condition.IpValues, ctx.SourceIp) && !AnyIp(condition.NotIpValues, ctx.SourceIp),
        ConditionKey.DestinationIp => PositiveIp(condition.IpValues, ctx.DestinationIp) && !AnyIp(condition.NotIpValues, ctx.DestinationIp),
        ConditionKey.DestinationPort => (condition.PortValues.Length == 0 || Array.IndexOf(condition.PortValues, ctx.DestinationPort) >= 0)
            && Array.IndexOf(condition.NotPortValues, ctx.DestinationPort) < 0,
        ConditionKey.SourceNamespace => Positive(condition.Values, ctx, Kind.Namespace) && Negative(condition.NotValues, ctx, Kind.Namespace),
        _ => Positive(condition.Values, ctx, Kind.Principal) && Negative(condition.NotValues, ctx, Kind.Principal),
    };

    private enum Kind
    {
        Principal,
        Namespace,
    }

    private static bool Positive(StringMatch[] values, in MatchContext ctx, Kind kind) => values.Length == 0 || Any(values, ctx, kind);

    private static bool Negative(StringMatch[] values, in MatchContext ctx, Kind kind) => values.Length == 0 || !Any(values, ctx, kind);

    private static bool Any(StringMatch[] values, in MatchContext ctx, Kind kind)
    {
        foreach (ref readonly var value in values.AsSpan())
        {
            if (kind == Kind.Principal ? ctx.PrincipalMatches(value) : ctx.NamespaceMatches(value))
            {
                return true;
            }
        }
        return false;
    }

    private static bool PositiveServiceAccounts(ServiceAccountRef[] values, in MatchContext ctx) =>
        values.Length == 0 || AnyServiceAccount(values, ctx);

    private static bool AnyServiceAccount(ServiceAccountRef[] values, in MatchContext ctx)
    {
        foreach (ref readonly var value in values.AsSpan())
        {
            if (ctx.ServiceAccountMatches(value))
            {
                return true;
            }
        }
        return false;
    }

    private static bool PositiveIp(IPNetwork[] networks, IPAddress? ip) => networks.Length == 0 || AnyIp(networks, ip);

    private static bool AnyIp(IPNetwork[] networks, IPAddress? ip)
    {
        if (ip is null)
        {
            return false;
        }
        foreach (ref readonly var network in networks.AsSpan())
        {
            if (network.Contains(ip))
            {
                return true;
            }
        }
        return false;
    }
}
