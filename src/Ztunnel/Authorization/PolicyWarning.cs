namespace Ztunnel.Authorization;

/// <summary>Something in the policy input that was ignored or not supported, not fatal.</summary>
internal sealed record PolicyWarning(string SourceName, int Line, string? Policy, string Message)
{
    public override string ToString() =>
        Policy is null ? $"{SourceName}:{Line}: {Message}" : $"{SourceName}:{Line}: {Policy}: {Message}";
}
