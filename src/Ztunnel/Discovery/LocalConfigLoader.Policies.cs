using YamlDotNet.RepresentationModel;

namespace Ztunnel.Discovery;

internal static partial class LocalConfigLoader
{
    private static PolicySetPlaceholder ReadPolicies(ConfigReader reader, YamlMappingNode root, string baseDirectory, DaemonSettings settings)
    {
        _ = settings;
        _ = reader.Sequence(root, "policies", "");
        foreach (var (text, node, path) in reader.Strings(root, "policyPaths", ""))
        {
            string full = Path.GetFullPath(text, baseDirectory);
            if (!File.Exists(full) && !Directory.Exists(full))
            {
                reader.Error(node, path, $"'{text}' does not exist (resolved to {full})");
            }
        }
        return PolicySetPlaceholder.Empty;
    }
}
