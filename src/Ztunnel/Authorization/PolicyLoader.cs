using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Ztunnel.Authorization;

/// <summary>
/// Reads Istio <c>security.istio.io/v1</c> and <c>v1beta1</c> AuthorizationPolicy and PeerAuthentication YAML
/// (multi-document files, Kubernetes <c>List</c>s, directories of *.yaml/*.yml) and compiles them to their L4 meaning.
/// Invalid input throws <see cref="PolicyValidationException"/> (Istio would reject it too); ignored input becomes a
/// <see cref="PolicyWarning"/>.
/// </summary>
internal static partial class PolicyLoader
{
    private const string SecurityGroup = "security.istio.io";
    private const string DryRunAnnotation = "istio.io/dry-run";
    private const string DefaultNamespace = "default";

    /// <summary>Loads a YAML file, or every *.yaml/*.yml file of a directory (not recursive, ordinal name order).</summary>
    public static PolicyLoadResult LoadPath(string fileOrDirectory)
    {
        var builder = new PolicyLoadBuilder();
        if (Directory.Exists(fileOrDirectory))
        {
            var files = Directory.GetFiles(fileOrDirectory)
                .Where(f => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal)
                .ToArray();
            if (files.Length == 0)
            {
                builder.Warnings.Add(new PolicyWarning(fileOrDirectory, 0, null, "directory has no *.yaml or *.yml files"));
            }
            foreach (string file in files)
            {
                Load(ReadFile(file), file, builder);
            }
        }
        else
        {
            Load(ReadFile(fileOrDirectory), fileOrDirectory, builder);
        }
        return builder.Build();
    }

    /// <summary>Loads YAML text; <paramref name="sourceName"/> names it in errors and warnings (usually the file path).</summary>
    public static PolicyLoadResult LoadYaml(string yamlText, string sourceName)
    {
        var builder = new PolicyLoadBuilder();
        Load(yamlText, sourceName, builder);
        return builder.Build();
    }

    private static string ReadFile(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string problem = e is FileNotFoundException or DirectoryNotFoundException ? "no such file or directory" : $"cannot read: {e.Message}";
            throw new PolicyValidationException(path, 0, null, null, problem);
        }
    }

    private static void Load(string yamlText, string sourceName, PolicyLoadBuilder builder)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yamlText));
        }
        catch (YamlException e)
        {
            throw new PolicyValidationException(sourceName, (int)e.Start.Line, null, null, $"invalid YAML: {e.Message}");
        }
        foreach (var document in stream.Documents)
        {
            var reader = new YamlReader(sourceName, builder.Warnings);
            if (YamlReader.IsNull(document.RootNode))
            {
                continue;
            }
            var root = reader.Mapping(document.RootNode, "(document)")!;
            LoadObject(reader, root, "", builder);
        }
    }

    private static void LoadObject(YamlReader reader, YamlMappingNode obj, string path, PolicyLoadBuilder builder)
    {
        reader.Policy = null;
        string apiVersion = reader.Scalar(Child(obj, "apiVersion"), path + "apiVersion") ?? "";
        string kind = reader.Scalar(Child(obj, "kind"), path + "kind") ?? "";
        if (kind is "List" or "AuthorizationPolicyList" or "PeerAuthenticationList" && Child(obj, "items") is { } itemsNode)
        {
            var items = reader.Sequence(itemsNode, path + "items");
            for (int i = 0; items is not null && i < items.Children.Count; i++)
            {
                string itemPath = $"{path}items[{i}].";
                LoadObject(reader, reader.Mapping(items.Children[i], itemPath.TrimEnd('.')) ?? new YamlMappingNode(), itemPath, builder);
            }
            return;
        }
        if (kind.Length == 0 || apiVersion.Length == 0)
        {
            throw reader.Error(obj, path + (kind.Length == 0 ? "kind" : "apiVersion"), "missing; every object needs apiVersion and kind");
        }
        int slash = apiVersion.IndexOf('/', StringComparison.Ordinal);
        string group = slash < 0 ? "" : apiVersion[..slash];
        string version = slash < 0 ? apiVersion : apiVersion[(slash + 1)..];
        if (group != SecurityGroup || kind is not ("AuthorizationPolicy" or "PeerAuthentication"))
        {
            reader.Warn(obj, $"{kind} ({apiVersion}) ignored: only security.istio.io AuthorizationPolicy and PeerAuthentication are read here");
            return;
        }
        if (version is not ("v1" or "v1beta1"))
        {
            throw reader.Error(Child(obj, "apiVersion")!, path + "apiVersion", $"'{apiVersion}' is not supported (use security.istio.io/v1 or security.istio.io/v1beta1)");
        }

        var metadata = ReadMetadata(reader, obj, path, kind);
        var spec = reader.Mapping(Child(obj, "spec"), path + "spec");
        foreach (var (key, keyNode, _) in reader.Entries(obj, path.TrimEnd('.')))
        {
            if (key is not ("apiVersion" or "kind" or "metadata" or "spec" or "status"))
            {
                reader.WarnUnknown(keyNode, path + key);
            }
        }
        builder.CheckDuplicate(reader, kind, metadata, obj);
        if (kind == "AuthorizationPolicy")
        {
            if (ReadAuthorizationPolicy(reader, spec, metadata, path + "spec") is { } policy)
            {
                builder.AuthorizationPolicies.Add(policy);
            }
        }
        else
        {
            builder.PeerAuthentications.Add(ReadPeerAuthentication(reader, spec, metadata, path + "spec"));
        }
    }

    private static PolicyMetadata ReadMetadata(YamlReader reader, YamlMappingNode obj, string path, string kind)
    {
        var metadata = reader.Mapping(Child(obj, "metadata"), path + "metadata")
            ?? throw reader.Error(obj, path + "metadata", $"{kind} has no metadata (name and namespace)");
        string name = reader.Scalar(Child(metadata, "name"), path + "metadata.name") is { Length: > 0 } n
            ? n
            : throw reader.Error(metadata, path + "metadata.name", $"{kind} has no name");
        string? ns = reader.Scalar(Child(metadata, "namespace"), path + "metadata.namespace");
        reader.Policy = $"{kind} {ns ?? DefaultNamespace}/{name}";
        if (string.IsNullOrEmpty(ns))
        {
            ns = DefaultNamespace;
            reader.Warn(metadata, $"metadata.namespace not set; using '{DefaultNamespace}'");
        }
        bool dryRun = false;
        if (reader.Mapping(Child(metadata, "annotations"), path + "metadata.annotations") is { } annotations
            && Child(annotations, DryRunAnnotation) is { } dryRunNode)
        {
            string value = reader.Scalar(dryRunNode, $"{path}metadata.annotations[{DryRunAnnotation}]") ?? "";
            dryRun = bool.TryParse(value, out bool parsed)
                ? parsed
                : throw reader.Error(dryRunNode, $"{path}metadata.annotations[{DryRunAnnotation}]", $"'{value}' must be \"true\" or \"false\"");
        }
        return new PolicyMetadata(ns, name, dryRun, $"{reader.SourceName}:{YamlReader.LineOf(obj)}");
    }

    private static YamlNode? Child(YamlMappingNode mapping, string key) =>
        mapping.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;
}
