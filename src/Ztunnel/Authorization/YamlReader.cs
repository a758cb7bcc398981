using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Ztunnel.Authorization;

/// <summary>
/// Typed access to one YAML document with errors and warnings that name the source, line, policy and field path.
/// </summary>
internal sealed class YamlReader
{
    private readonly List<PolicyWarning> _warnings;

    public YamlReader(string sourceName, List<PolicyWarning> warnings)
    {
        SourceName = sourceName;
        _warnings = warnings;
    }

    public string SourceName { get; }
    /// <summary>"AuthorizationPolicy ns/name" once known, for messages.</summary>
    public string? Policy { get; set; }

    public static int LineOf(YamlNode node) => (int)node.Start.Line;

    public PolicyValidationException Error(YamlNode node, string field, string problem) =>
        new(SourceName, LineOf(node), Policy, field, problem);

    public void Warn(YamlNode node, string message) => _warnings.Add(new PolicyWarning(SourceName, LineOf(node), Policy, message));

    public void WarnUnknown(YamlNode key, string field) =>
        Warn(key, $"{field}: unknown field, ignored");

    public static bool IsNull(YamlNode? node) =>
        node is null || (node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } s && s.Value is null or "" or "~" or "null" or "Null" or "NULL");

    /// <summary>The mapping at <paramref name="node"/>; null when absent or YAML null.</summary>
    public YamlMappingNode? Mapping(YamlNode? node, string field) => IsNull(node) ? null
        : node as YamlMappingNode ?? throw Error(node!, field, $"expected a mapping, found {Describe(node!)}");

    public YamlSequenceNode? Sequence(YamlNode? node, string field) => IsNull(node) ? null
        : node as YamlSequenceNode ?? throw Error(node!, field, $"expected a list, found {Describe(node!)}");

    public string? Scalar(YamlNode? node, string field) => IsNull(node) ? null
        : node is YamlScalarNode s ? s.Value ?? "" : throw Error(node!, field, $"expected a string, found {Describe(node!)}");

    /// <summary>A list of strings with each item's node (for per-item errors); empty when absent.</summary>
    public List<(string Value, YamlNode Node, string Field)> Strings(YamlNode? node, string field)
    {
        var result = new List<(string, YamlNode, string)>();
        var sequence = Sequence(node, field);
        if (sequence is null)
        {
            return result;
        }
        for (int i = 0; i < sequence.Children.Count; i++)
        {
            string itemField = $"{field}[{i}]";
            var item = sequence.Children[i];
            string value = Scalar(item, itemField) ?? throw Error(item, itemField, "expected a string, found null");
            result.Add((value, item, itemField));
        }
        return result;
    }

    /// <summary>Mapping entries with string keys.</summary>
    public IEnumerable<(string Key, YamlNode KeyNode, YamlNode Value)> Entries(YamlMappingNode mapping, string field)
    {
        foreach (var (key, value) in mapping.Children)
        {
            string name = key is YamlScalarNode { Value: { } k } ? k : throw Error(key, field, "mapping keys must be strings");
            yield return (name, key, value);
        }
    }

    private static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s => $"'{s.Value}'",
        _ => node.NodeType.ToString(),
    };
}
