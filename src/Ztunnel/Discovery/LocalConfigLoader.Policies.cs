using YamlDotNet.RepresentationModel;
using Ztunnel.Authorization;

namespace Ztunnel.Discovery;

internal static partial class LocalConfigLoader
{
    /// <summary>
    /// Compiles the inline <c>policies:</c> objects and the <c>policyPaths:</c> files with the authorization
    /// loader. Inline objects are handed over as their own text from the file, padded so that the loader's
    /// line numbers are the config file's line numbers.
    /// </summary>
    private static PolicySet ReadPolicies(ConfigReader reader, YamlMappingNode root, string text, string baseDirectory, DaemonSettings settings, ICollection<string>? policyPaths)
    {
        var authorization = new List<AuthorizationPolicy>();
        var peer = new List<PeerAuthentication>();

        if (reader.Sequence(root, "policies", "") is { } inline)
        {
            for (int i = 0; i < inline.Children.Count; i++)
            {
                var node = inline.Children[i];
                string path = ConfigReader.Item("policies", i);
                if (node is not YamlMappingNode)
                {
                    reader.Error(node, path, $"must be an AuthorizationPolicy or PeerAuthentication object, not a {ConfigReader.Kind(node)}");
                    continue;
                }
                Load(() => PolicyLoader.LoadYaml(SliceAtSamePosition(text, node), reader.Source), path);
            }
        }

        foreach (var (value, node, path) in reader.Strings(root, "policyPaths", ""))
        {
            string full = Path.GetFullPath(value, baseDirectory);
            if (!File.Exists(full) && !Directory.Exists(full))
            {
                reader.Error(node, path, $"'{value}' does not exist (resolved to {full})");
                continue;
            }
            policyPaths?.Add(full);
            Load(() => PolicyLoader.LoadPath(full), path);
        }

        var set = PolicySet.Create(authorization, peer, settings.RootNamespace, settings.TrustDomain);
        foreach (var w in set.Warnings)
        {
            reader.Warn(new ConfigDiagnostic(w.SourceName, w.Line, w.Policy ?? "", w.Message));
        }
        return set;

        void Load(Func<PolicyLoadResult> load, string path)
        {
            try
            {
                var result = load();
                authorization.AddRange(result.AuthorizationPolicies);
                peer.AddRange(result.PeerAuthentications);
                foreach (var w in result.Warnings)
                {
                    reader.Warn(new ConfigDiagnostic(w.SourceName, w.Line, w.Policy ?? path, w.Message));
                }
            }
            catch (PolicyValidationException e)
            {
                string where = e.Policy is null ? path : e.Field is null ? e.Policy : $"{e.Policy}: {e.Field}";
                reader.Error(new ConfigDiagnostic(e.SourceName.Length > 0 ? e.SourceName : reader.Source, e.Line, where, e.Problem));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                reader.Error(new ConfigDiagnostic(reader.Source, 0, path, $"cannot read: {e.Message}"));
            }
        }
    }

    /// <summary>
    /// The source text of <paramref name="node"/>, preceded by as many newlines and spaces as put it at its
    /// original line and column: a YAML document of its own whose line numbers match the config file.
    /// </summary>
    internal static string SliceAtSamePosition(string text, YamlNode node)
    {
        int start = checked((int)node.Start.Index);
        int end = Math.Min(text.Length, EndOf(text, node));
        return new string('\n', checked((int)node.Start.Line) - 1) + new string(' ', checked((int)node.Start.Column) - 1) + text[start..end];
    }

    // YamlDotNet gives a mapping or sequence node only its start mark, so the end is found from the
    // children: the last one's end, plus the closing bracket for flow style ({...} / [...]).
    private static int EndOf(string text, YamlNode node)
    {
        int end = checked((int)node.End.Index);
        bool flow = false;
        char close = ' ';
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (k, v) in map.Children)
                {
                    end = Math.Max(end, Math.Max(EndOf(text, k), EndOf(text, v)));
                }
                flow = map.Style == YamlDotNet.Core.Events.MappingStyle.Flow;
                close = '}';
                break;
            case YamlSequenceNode seq:
                foreach (var child in seq.Children)
                {
                    end = Math.Max(end, EndOf(text, child));
                }
                flow = seq.Style == YamlDotNet.Core.Events.SequenceStyle.Flow;
                close = ']';
                break;
        }
        if (flow)
        {
            int i = text.IndexOf(close, end);
            end = i < 0 ? text.Length : i + 1;
        }
        return end;
    }
}
