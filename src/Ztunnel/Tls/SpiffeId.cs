using System.Diagnostics.CodeAnalysis;

namespace Ztunnel.Tls;

/// <summary>
/// A workload identity of the form <c>spiffe://&lt;trust-domain&gt;/ns/&lt;namespace&gt;/sa/&lt;service-account&gt;</c>,
/// the only SPIFFE ID shape Istio issues and accepts.
/// </summary>
public readonly record struct SpiffeId
{
    private const string Scheme = "spiffe://";

    public SpiffeId(string trustDomain, string @namespace, string serviceAccount)
    {
        string? error = ValidateTrustDomain(trustDomain) ?? ValidateSegment("namespace", @namespace) ?? ValidateSegment("service account", serviceAccount);
        if (error is not null)
        {
            throw new FormatException(error);
        }
        TrustDomain = trustDomain;
        Namespace = @namespace;
        ServiceAccount = serviceAccount;
    }

    public string TrustDomain { get; }
    public string Namespace { get; }
    public string ServiceAccount { get; }

    /// <summary>Parses <paramref name="value"/>; throws <see cref="FormatException"/> naming what was wrong.</summary>
    public static SpiffeId Parse(string value) =>
        TryParse(value, out var id, out var error) ? id : throw new FormatException(error);

    public static bool TryParse([NotNullWhen(true)] string? value, out SpiffeId id) => TryParse(value, out id, out _);

    public static bool TryParse([NotNullWhen(true)] string? value, out SpiffeId id, [NotNullWhen(false)] out string? error)
    {
        id = default;
        if (string.IsNullOrEmpty(value))
        {
            error = "SPIFFE ID is empty";
            return false;
        }
        if (!value.StartsWith(Scheme, StringComparison.Ordinal))
        {
            error = $"SPIFFE ID '{value}' does not start with '{Scheme}'";
            return false;
        }
        var parts = value.AsSpan(Scheme.Length);
        Span<Range> ranges = stackalloc Range[6];
        int count = parts.Split(ranges, '/');
        if (count != 5 || !parts[ranges[1]].SequenceEqual("ns") || !parts[ranges[3]].SequenceEqual("sa"))
        {
            error = $"SPIFFE ID '{value}' is not of the form spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>";
            return false;
        }
        string trustDomain = parts[ranges[0]].ToString();
        string ns = parts[ranges[2]].ToString();
        string sa = parts[ranges[4]].ToString();
        error = ValidateTrustDomain(trustDomain) ?? ValidateSegment("namespace", ns) ?? ValidateSegment("service account", sa);
        if (error is not null)
        {
            error = $"SPIFFE ID '{value}': {error}";
            return false;
        }
        id = new SpiffeId(trustDomain, ns, sa);
        return true;
    }

    public override string ToString() => $"{Scheme}{TrustDomain}/ns/{Namespace}/sa/{ServiceAccount}";

    /// <summary>The identity without the scheme, as Istio's policy <c>principals</c> are written.</summary>
    public string Principal => $"{TrustDomain}/ns/{Namespace}/sa/{ServiceAccount}";

    public Uri ToUri() => new(ToString());

    // SPIFFE spec: the trust domain is lowercase letters, digits, '.', '-' and '_'.
    private static string? ValidateTrustDomain(string? trustDomain)
    {
        if (string.IsNullOrEmpty(trustDomain))
        {
            return "trust domain is empty";
        }
        foreach (char c in trustDomain)
        {
            if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '.' or '-' or '_'))
            {
                return $"trust domain '{trustDomain}' has the character '{c}' (allowed: a-z 0-9 . - _)";
            }
        }
        return null;
    }

    // SPIFFE spec path segments: letters, digits, '.', '-', '_'; never '.' or '..' alone.
    private static string? ValidateSegment(string what, string? segment)
    {
        if (string.IsNullOrEmpty(segment))
        {
            return $"{what} is empty";
        }
        if (segment is "." or "..")
        {
            return $"{what} '{segment}' is not allowed";
        }
        foreach (char c in segment)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
            {
                return $"{what} '{segment}' has the character '{c}' (allowed: letters, digits, . - _)";
            }
        }
        return null;
    }
}
