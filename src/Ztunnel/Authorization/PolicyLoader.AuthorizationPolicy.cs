using System.Net;
using YamlDotNet.RepresentationModel;

namespace Ztunnel.Authorization;

internal static partial class PolicyLoader
{
    // Istio's CRD limits serviceAccounts (and notServiceAccounts) to 16 entries.
    private const int MaxServiceAccounts = 16;

    /// <summary>Compiles one AuthorizationPolicy; null when it is valid but not for ztunnel (targetRefs, AUDIT, CUSTOM).</summary>
    private static AuthorizationPolicy? ReadAuthorizationPolicy(YamlReader reader, YamlMappingNode? spec, PolicyMetadata metadata, string path)
    {
        spec ??= new YamlMappingNode();
        IReadOnlyDictionary<string, string>? selector = null;
        YamlNode? selectorNode = null, targetNode = null, rulesNode = null, providerNode = null;
        string actionText = "ALLOW";
        YamlNode actionNode = spec;
        foreach (var (key, keyNode, value) in reader.Entries(spec, path))
        {
            switch (key)
            {
                case "selector":
                    selectorNode = value;
                    selector = ReadSelector(reader, value, $"{path}.selector");
                    break;
                case "targetRef" or "targetRefs":
                    if (!YamlReader.IsNull(value))
                    {
                        targetNode = value;
                    }
                    break;
                case "action":
                    actionText = reader.Scalar(value, $"{path}.action") ?? "ALLOW";
                    actionNode = value;
                    break;
                case "provider":
                    providerNode = YamlReader.IsNull(value) ? null : value;
                    break;
                case "rules":
                    rulesNode = value;
                    break;
                default:
                    reader.WarnUnknown(keyNode, $"{path}.{key}");
                    break;
            }
        }
        if (selectorNode is not null && targetNode is not null)
        {
            throw reader.Error(targetNode, $"{path}.targetRefs", "cannot be combined with selector (use one of them)");
        }
        AuthorizationAction? action = actionText switch
        {
            "ALLOW" => AuthorizationAction.Allow,
            "DENY" => AuthorizationAction.Deny,
            "AUDIT" or "CUSTOM" => null,
            _ => throw reader.Error(actionNode, $"{path}.action", $"'{actionText}' is not an action (ALLOW, DENY, AUDIT or CUSTOM)"),
        };
        if (providerNode is not null && actionText != "CUSTOM")
        {
            throw reader.Error(providerNode, $"{path}.provider", $"only allowed with action CUSTOM, found {actionText}");
        }
        var rulesSequence = reader.Sequence(rulesNode, $"{path}.rules");
        if (action == AuthorizationAction.Deny && rulesSequence is null or { Children.Count: 0 })
        {
            // Istio rejects this too: a DENY without rules never triggers.
            throw reader.Error(actionNode, $"{path}.rules", "DENY without rules would never match; add an empty rule `{}` to deny everything");
        }

        var notes = new List<string>();
        var rules = new List<AuthorizationRule>();
        for (int i = 0; rulesSequence is not null && i < rulesSequence.Children.Count; i++)
        {
            if (ReadRule(reader, rulesSequence.Children[i], $"{path}.rules[{i}]", i, action ?? AuthorizationAction.Allow, metadata.Namespace, notes) is { } rule)
            {
                rules.Add(rule);
            }
        }

        if (targetNode is not null)
        {
            reader.Warn(targetNode, "targetRef/targetRefs policies are enforced by waypoint or gateway proxies, not by ztunnel; ignored here");
            return null;
        }
        if (action is null)
        {
            reader.Warn(actionNode, $"action {actionText} is not supported at L4 by ztunnel; policy ignored");
            return null;
        }
        foreach (string note in notes)
        {
            reader.Warn(spec, note);
        }
        if (action == AuthorizationAction.Allow && rules.Count == 0)
        {
            notes.Add(rulesSequence is null or { Children.Count: 0 }
                ? "ALLOW without rules matches nothing: every connection to the selected workloads is denied (allow-nothing)"
                : "no rule is usable at L4, so this ALLOW matches nothing");
        }
        return new AuthorizationPolicy
        {
            Ref = metadata.Ref,
            Action = action.Value,
            Selector = selector,
            DryRun = metadata.DryRun,
            Rules = [.. rules],
            Notes = notes,
            Location = metadata.Location,
        };
    }

    private static Dictionary<string, string>? ReadSelector(YamlReader reader, YamlNode node, string path)
    {
        var selector = reader.Mapping(node, path);
        if (selector is null)
        {
            return null;
        }
        Dictionary<string, string>? labels = null;
        foreach (var (key, keyNode, value) in reader.Entries(selector, path))
        {
            if (key != "matchLabels")
            {
                reader.WarnUnknown(keyNode, $"{path}.{key}");
                continue;
            }
            var matchLabels = reader.Mapping(value, $"{path}.matchLabels");
            if (matchLabels is null)
            {
                continue;
            }
            labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (label, _, labelValue) in reader.Entries(matchLabels, $"{path}.matchLabels"))
            {
                labels[label] = reader.Scalar(labelValue, $"{path}.matchLabels.{label}") ?? "";
            }
        }
        return labels is { Count: > 0 } ? labels : null;
    }

    /// <summary>
    /// One rule at L4. HTTP-only fields make an ALLOW rule unusable (dropped: never matches, more restrictive) and are
    /// removed from a DENY rule, which then matches on its L4 part alone (more restrictive).
    /// </summary>
    private static AuthorizationRule? ReadRule(YamlReader reader, YamlNode node, string path, int index, AuthorizationAction action, string policyNamespace, List<string> notes)
    {
        var rule = reader.Mapping(node, path) ?? throw reader.Error(node, path, "rule must not be null (use `{}` to match everything)");
        var l7 = new List<string>();
        SourceMatch[] from = [];
        OperationMatch[] to = [];
        ConditionMatch[] when = [];
        foreach (var (key, keyNode, value) in reader.Entries(rule, path))
        {
            switch (key)
            {
                case "from":
                    from = ReadList(reader, value, $"{path}.from", "source", (r, n, p) => ReadSource(r, n, p, policyNamespace, l7));
                    break;
                case "to":
                    to = ReadList(reader, value, $"{path}.to", "operation", (r, n, p) => ReadOperation(r, n, p, l7));
                    break;
                case "when":
                    when = ReadConditions(reader, value, $"{path}.when", l7);
                    break;
                default:
                    reader.WarnUnknown(keyNode, $"{path}.{key}");
                    break;
            }
        }
        if (l7.Count > 0)
        {
            string fields = string.Join(", ", l7);
            if (action == AuthorizationAction.Allow)
            {
                notes.Add($"rule {index} ignored: it uses HTTP attributes ({fields}) that ztunnel cannot see, and an ALLOW rule that cannot be checked never matches (more restrictive)");
                return null;
            }
            notes.Add($"rule {index} enforced without its HTTP attributes ({fields}): it matches on its L4 part alone, so it denies more than written (more restrictive)");
        }
        return new AuthorizationRule { Index = index, From = from, To = to, When = when };
    }

    private static T[] ReadList<T>(YamlReader reader, YamlNode node, string path, string itemKey, Func<YamlReader, YamlNode, string, T> readItem)
    {
        var sequence = reader.Sequence(node, path);
        if (sequence is null)
        {
            return [];
        }
        if (sequence.Children.Count == 0)
        {
            throw reader.Error(sequence, path, "must not be empty (omit it to match anything)");
        }
        var result = new T[sequence.Children.Count];
        for (int i = 0; i < result.Length; i++)
        {
            string itemPath = $"{path}[{i}]";
            var item = reader.Mapping(sequence.Children[i], itemPath) ?? throw reader.Error(sequence.Children[i], itemPath, "must not be null");
            YamlNode? inner = null;
            foreach (var (key, keyNode, value) in reader.Entries(item, itemPath))
            {
                if (key == itemKey)
                {
                    inner = value;
                }
                else
                {
                    reader.WarnUnknown(keyNode, $"{itemPath}.{key}");
                }
            }
            if (YamlReader.IsNull(inner))
            {
                throw reader.Error(item, $"{itemPath}.{itemKey}", "is required");
            }
            result[i] = readItem(reader, inner!, $"{itemPath}.{itemKey}");
        }
        return result;
    }

    private static IPNetwork[] ReadNetworks(YamlReader reader, List<(string Value, YamlNode Node, string Field)> values)
    {
        var result = new IPNetwork[values.Count];
        for (int i = 0; i < result.Length; i++)
        {
            var (value, node, field) = values[i];
            result[i] = ValueParsers.TryParseNetwork(value, out var network, out string? error) ? network : throw reader.Error(node, field, error!);
        }
        return result;
    }

    private static int[] ReadPorts(YamlReader reader, List<(string Value, YamlNode Node, string Field)> values)
    {
        var result = new int[values.Count];
        for (int i = 0; i < result.Length; i++)
        {
            var (value, node, field) = values[i];
            result[i] = ValueParsers.TryParsePort(value, out int port, out string? error) ? port : throw reader.Error(node, field, error!);
        }
        return result;
    }

    private static StringMatch[] ReadMatches(YamlReader reader, List<(string Value, YamlNode Node, string Field)> values, bool principal)
    {
        var result = new StringMatch[values.Count];
        for (int i = 0; i < result.Length; i++)
        {
            var (value, node, field) = values[i];
            if (value.Length == 0)
            {
                throw reader.Error(node, field, "empty value");
            }
            result[i] = StringMatch.Parse(principal ? ValueParsers.StripSpiffe(value) : value);
        }
        return result;
    }
}
