namespace Ztunnel.Authorization;

/// <summary>The parts of <c>metadata</c> the loader uses.</summary>
internal sealed record PolicyMetadata(string Namespace, string Name, bool DryRun, string Location)
{
    public PolicyRef Ref => new(Namespace, Name);
}
