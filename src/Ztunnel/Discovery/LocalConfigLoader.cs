using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Ztunnel.Discovery;

/// <summary>
/// Reads the local configuration file (`ztunnel run --config FILE`, format in docs/config.md): daemon
/// settings plus the mesh state. Every problem is reported with file, line and path; all of them at once.
/// </summary>
internal static partial class LocalConfigLoader
{
    private static readonly string[] TopLevelKeys =
    [
        "nodeName", "trustDomain", "caDir", "certificateLifetime", "registrationSocket", "adminAddress",
        "metricsAddress", "readinessAddress", "rootNamespace", "logLevel", "accessLog",
        "workloads", "services", "policies", "policyPaths",
    ];

    /// <summary>Loads and validates <paramref name="path"/>; throws <see cref="ConfigException"/> listing every error.</summary>
    public static LocalConfig LoadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException([new ConfigDiagnostic(path, 0, "", $"cannot read the file: {e.Message}")]);
        }
        string directory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        return Parse(text, path, directory);
    }

    /// <summary>
    /// Parses configuration <paramref name="text"/>; <paramref name="source"/> names it in messages and
    /// relative paths (caDir, policyPaths) are resolved against <paramref name="baseDirectory"/>. The
    /// resolved policy paths that exist are added to <paramref name="policyPaths"/>, even when parsing
    /// fails, so a watcher can follow them.
    /// </summary>
    public static LocalConfig Parse(string text, string source, string? baseDirectory = null, ICollection<string>? policyPaths = null)
    {
        baseDirectory ??= Directory.GetCurrentDirectory();
        var reader = new ConfigReader(source);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            string message = e.InnerException is YamlException inner ? inner.Message : e.Message;
            throw new ConfigException([new ConfigDiagnostic(source, checked((int)e.Start.Line), "", $"not valid YAML: {message}")]);
        }

        YamlMappingNode root;
        if (stream.Documents.Count == 0 || ConfigReader.IsNull(stream.Documents[0].RootNode))
        {
            root = new YamlMappingNode();
        }
        else if (stream.Documents[0].RootNode is YamlMappingNode m)
        {
            root = m;
        }
        else
        {
            throw new ConfigException([new ConfigDiagnostic(source, ConfigReader.Line(stream.Documents[0].RootNode), "", "the file must be a mapping of settings (key: value)")]);
        }
        if (stream.Documents.Count > 1)
        {
            reader.Error(stream.Documents[1].RootNode, "", "the file must hold one YAML document; put policies under 'policies:' or in 'policyPaths:' files");
        }

        reader.CheckKeys(root, "", TopLevelKeys);
        var settings = ReadSettings(reader, root, baseDirectory);
        var workloads = ReadWorkloads(reader, root, settings.TrustDomain);
        var services = ReadServices(reader, root, workloads);
        var policies = ReadPolicies(reader, root, text, baseDirectory, settings, policyPaths);

        if (reader.Errors.Count > 0)
        {
            throw new ConfigException(reader.Errors);
        }
        return new LocalConfig(source, settings, new MeshState(workloads, services, policies), reader.Warnings);
    }
}
