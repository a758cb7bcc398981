namespace Ztunnel.Authorization;

/// <summary>
/// Reads Istio <c>security.istio.io/v1</c> and <c>v1beta1</c> AuthorizationPolicy and PeerAuthentication YAML
/// (multi-document files, Kubernetes <c>List</c>s, directories of *.yaml/*.yml) and compiles them to their L4 meaning.
/// Invalid input throws <see cref="PolicyValidationException"/>; ignored input becomes a <see cref="PolicyWarning"/>.
/// </summary>
internal static partial class PolicyLoader
{
    /// <summary>Loads a YAML file, or every *.yaml/*.yml file of a directory (not recursive, ordinal name order).</summary>
    public static PolicyLoadResult LoadPath(string fileOrDirectory) => throw new NotImplementedException();

    /// <summary>Loads YAML text; <paramref name="sourceName"/> names it in errors and warnings (usually the file path).</summary>
    public static PolicyLoadResult LoadYaml(string yamlText, string sourceName) => throw new NotImplementedException();
}
