namespace Ztunnel.Authorization;

/// <summary>
/// Istio's string match for principals, namespaces and string conditions: exact, prefix <c>abc*</c>,
/// suffix <c>*abc</c>, or presence <c>*</c> (any non-empty value).
/// </summary>
internal readonly record struct StringMatch(StringMatchKind Kind, string Value)
{
    public static StringMatch Parse(string pattern)
    {
        if (pattern == "*")
        {
            return new(StringMatchKind.Presence, "");
        }
        if (pattern.Length > 1 && pattern[^1] == '*')
        {
            return new(StringMatchKind.Prefix, pattern[..^1]);
        }
        if (pattern.Length > 1 && pattern[0] == '*')
        {
            return new(StringMatchKind.Suffix, pattern[1..]);
        }
        return new(StringMatchKind.Exact, pattern);
    }

    public bool Matches(ReadOnlySpan<char> value) => Kind switch
    {
        StringMatchKind.Presence => !value.IsEmpty,
        StringMatchKind.Prefix => value.StartsWith(Value, StringComparison.Ordinal),
        StringMatchKind.Suffix => value.EndsWith(Value, StringComparison.Ordinal),
        _ => value.SequenceEqual(Value),
    };

    public override string ToString() => Kind switch
    {
        StringMatchKind.Presence => "*",
        StringMatchKind.Prefix => Value + "*",
        StringMatchKind.Suffix => "*" + Value,
        _ => Value,
    };
}
