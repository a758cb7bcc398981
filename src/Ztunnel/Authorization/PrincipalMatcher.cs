using Ztunnel.Tls;

namespace Ztunnel.Authorization;

/// <summary>
/// Matches Istio principal patterns (<c>td/ns/NS/sa/SA</c>, with prefix/suffix/presence forms) against an identity
/// without building the principal string: the identity is viewed as the parts td, "/ns/", ns, "/sa/", sa.
/// </summary>
internal static class PrincipalMatcher
{
    private const string NsSeparator = "/ns/";
    private const string SaSeparator = "/sa/";

    public static bool Matches(in StringMatch pattern, in SpiffeId id, string trustDomain) => pattern.Kind switch
    {
        // An identity always has a non-empty principal.
        StringMatchKind.Presence => true,
        StringMatchKind.Exact => pattern.Value.Length == Length(id, trustDomain) && StartsWith(pattern.Value, id, trustDomain),
        StringMatchKind.Prefix => StartsWith(pattern.Value, id, trustDomain),
        _ => EndsWith(pattern.Value, id, trustDomain),
    };

    private static int Length(in SpiffeId id, string trustDomain) =>
        trustDomain.Length + NsSeparator.Length + id.Namespace.Length + SaSeparator.Length + id.ServiceAccount.Length;

    private static bool StartsWith(ReadOnlySpan<char> prefix, in SpiffeId id, string trustDomain) =>
        Consume(ref prefix, trustDomain) && Consume(ref prefix, NsSeparator) && Consume(ref prefix, id.Namespace)
        && Consume(ref prefix, SaSeparator) && Consume(ref prefix, id.ServiceAccount);

    private static bool EndsWith(ReadOnlySpan<char> suffix, in SpiffeId id, string trustDomain) =>
        ConsumeEnd(ref suffix, id.ServiceAccount) && ConsumeEnd(ref suffix, SaSeparator) && ConsumeEnd(ref suffix, id.Namespace)
        && ConsumeEnd(ref suffix, NsSeparator) && ConsumeEnd(ref suffix, trustDomain);

    // Consumes `part` from the front of `pattern`; true while the pattern is consistent with the parts so far.
    // Once the pattern is used up the remaining parts match trivially, which stops further consumption.
    private static bool Consume(ref ReadOnlySpan<char> pattern, ReadOnlySpan<char> part)
    {
        int n = Math.Min(pattern.Length, part.Length);
        if (!pattern[..n].SequenceEqual(part[..n]))
        {
            return false;
        }
        pattern = pattern[n..];
        return true;
    }

    private static bool ConsumeEnd(ref ReadOnlySpan<char> pattern, ReadOnlySpan<char> part)
    {
        int n = Math.Min(pattern.Length, part.Length);
        if (!pattern[^n..].SequenceEqual(part[^n..]))
        {
            return false;
        }
        pattern = pattern[..^n];
        return true;
    }
}
