namespace Ztunnel.Authorization;

/// <summary>
/// Invalid policy input. The message names the file and line, the policy (<c>Kind namespace/name</c>) and the
/// field path (<c>spec.rules[0].from[0].source.ipBlocks[1]</c>) with what was wrong.
/// </summary>
internal sealed class PolicyValidationException : Exception
{
    public PolicyValidationException(string sourceName, int line, string? policy, string? field, string problem)
        : base(Format(sourceName, line, policy, field, problem))
    {
        SourceName = sourceName;
        Line = line;
        Policy = policy;
        Field = field;
        Problem = problem;
    }

    public PolicyValidationException()
    {
        SourceName = "";
        Problem = "";
    }

    public PolicyValidationException(string message) : base(message)
    {
        SourceName = "";
        Problem = message;
    }

    public PolicyValidationException(string message, Exception innerException) : base(message, innerException)
    {
        SourceName = "";
        Problem = message;
    }

    public string SourceName { get; }
    public int Line { get; }
    public string? Policy { get; }
    public string? Field { get; }
    public string Problem { get; }

    private static string Format(string sourceName, int line, string? policy, string? field, string problem)
    {
        string where = line > 0 ? $"{sourceName}:{line}" : sourceName;
        string who = policy is null ? "" : $" {policy}:";
        string what = field is null ? "" : $" {field}:";
        return $"{where}:{who}{what} {problem}";
    }
}
