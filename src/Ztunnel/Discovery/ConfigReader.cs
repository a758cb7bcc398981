using System.Globalization;
using System.Net;
using YamlDotNet.RepresentationModel;

namespace Ztunnel.Discovery;

/// <summary>
/// Typed access to a YAML representation tree that records every problem with the file, line and path
/// of the offending node, so one pass reports all errors at once.
/// </summary>
internal sealed class ConfigReader(string source)
{
    private readonly List<ConfigDiagnostic> _errors = [];
    private readonly List<ConfigDiagnostic> _warnings = [];

    public string Source { get; } = source;
    public IReadOnlyList<ConfigDiagnostic> Errors => _errors;
    public IReadOnlyList<ConfigDiagnostic> Warnings => _warnings;

    public void Error(YamlNode node, string path, string message) => _errors.Add(new(Source, Line(node), path, message));

    public void Error(int line, string path, string message) => _errors.Add(new(Source, line, path, message));

    public void Warn(YamlNode node, string path, string message) => _warnings.Add(new(Source, Line(node), path, message));

    public void Error(ConfigDiagnostic diagnostic) => _errors.Add(diagnostic);

    public void Warn(ConfigDiagnostic diagnostic) => _warnings.Add(diagnostic);

    public static int Line(YamlNode node) => checked((int)node.Start.Line);

    public static string Child(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    public static string Item(string path, int index) => $"{path}[{index}]";

    /// <summary>Warns about every key of <paramref name="map"/> that is not in <paramref name="known"/> (likely a typo).</summary>
    public void CheckKeys(YamlMappingNode map, string path, params ReadOnlySpan<string> known)
    {
        foreach (var (keyNode, _) in map.Children)
        {
            string key = (keyNode as YamlScalarNode)?.Value ?? "";
            bool found = false;
            foreach (string k in known)
            {
                found |= k == key;
            }
            if (!found)
            {
                Warn(keyNode, path, $"unknown key '{key}' (ignored; known keys: {string.Join(", ", known.ToArray())})");
            }
        }
    }

    /// <summary>The value of <paramref name="key"/>, or null when absent or written as null (<c>~</c>, empty).</summary>
    public static YamlNode? Get(YamlMappingNode map, string key)
    {
        foreach (var (k, v) in map.Children)
        {
            if (k is YamlScalarNode s && s.Value == key)
            {
                return IsNull(v) ? null : v;
            }
        }
        return null;
    }

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    public string? String(YamlMappingNode map, string key, string path, bool required)
    {
        var node = Get(map, key);
        string childPath = Child(path, key);
        if (node is null)
        {
            if (required)
            {
                Error(map, childPath, "is required");
            }
            return null;
        }
        if (node is not YamlScalarNode scalar)
        {
            Error(node, childPath, $"must be a string, not a {Kind(node)}");
            return null;
        }
        if (required && string.IsNullOrEmpty(scalar.Value))
        {
            Error(node, childPath, "is empty");
            return null;
        }
        return scalar.Value ?? "";
    }

    public int? Int(YamlMappingNode map, string key, string path, int min, int max)
    {
        string childPath = Child(path, key);
        var node = Get(map, key);
        if (node is null)
        {
            return null;
        }
        if (node is not YamlScalarNode { Value: { } text } ||
            !int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
        {
            Error(node, childPath, $"{Describe(node)} is not an integer");
            return null;
        }
        if (value < min || value > max)
        {
            Error(node, childPath, $"{value} is out of range ({min}..{max})");
            return null;
        }
        return value;
    }

    public bool? Bool(YamlMappingNode map, string key, string path)
    {
        var node = Get(map, key);
        if (node is null)
        {
            return null;
        }
        if (node is YamlScalarNode { Value: { } text })
        {
            switch (text)
            {
                case "true" or "True" or "TRUE":
                    return true;
                case "false" or "False" or "FALSE":
                    return false;
            }
        }
        Error(node, Child(path, key), $"{Describe(node)} is not a boolean (true or false)");
        return null;
    }

    public YamlMappingNode? Mapping(YamlMappingNode map, string key, string path)
    {
        var node = Get(map, key);
        if (node is null or YamlMappingNode)
        {
            return (YamlMappingNode?)node;
        }
        Error(node, Child(path, key), $"must be a mapping (key: value), not a {Kind(node)}");
        return null;
    }

    public YamlSequenceNode? Sequence(YamlMappingNode map, string key, string path)
    {
        var node = Get(map, key);
        if (node is null or YamlSequenceNode)
        {
            return (YamlSequenceNode?)node;
        }
        Error(node, Child(path, key), $"must be a list, not a {Kind(node)}");
        return null;
    }

    /// <summary>A list of items that must be mappings; other items are reported and skipped.</summary>
    public IEnumerable<(YamlMappingNode Item, string Path, int Index)> MappingItems(YamlMappingNode map, string key, string path)
    {
        var seq = Sequence(map, key, path);
        if (seq is null)
        {
            yield break;
        }
        string listPath = Child(path, key);
        for (int i = 0; i < seq.Children.Count; i++)
        {
            var node = seq.Children[i];
            if (node is YamlMappingNode m)
            {
                yield return (m, Item(listPath, i), i);
            }
            else
            {
                Error(node, Item(listPath, i), $"must be a mapping (key: value), not a {Kind(node)}");
            }
        }
    }

    /// <summary>A list of scalar strings; other items are reported and skipped.</summary>
    public List<(string Value, YamlNode Node, string Path)> Strings(YamlMappingNode map, string key, string path)
    {
        var result = new List<(string, YamlNode, string)>();
        var node = Get(map, key);
        string listPath = Child(path, key);
        if (node is YamlScalarNode single)
        {
            // A lone value where a list is expected is accepted: `ips: 10.0.0.1`.
            result.Add((single.Value ?? "", single, listPath));
            return result;
        }
        var seq = Sequence(map, key, path);
        if (seq is null)
        {
            return result;
        }
        for (int i = 0; i < seq.Children.Count; i++)
        {
            if (seq.Children[i] is YamlScalarNode s)
            {
                result.Add((s.Value ?? "", s, Item(listPath, i)));
            }
            else
            {
                Error(seq.Children[i], Item(listPath, i), $"must be a string, not a {Kind(seq.Children[i])}");
            }
        }
        return result;
    }

    public IPAddress? Address(string text, YamlNode node, string path)
    {
        if (IPAddress.TryParse(text, out var ip) && !text.Contains('%', StringComparison.Ordinal) && !text.Contains('/', StringComparison.Ordinal))
        {
            return MeshState.Normalize(ip);
        }
        Error(node, path, $"'{text}' is not an IP address");
        return null;
    }

    public IPEndPoint? EndPoint(YamlMappingNode map, string key, string path)
    {
        string? text = String(map, key, path, required: false);
        if (text is null)
        {
            return null;
        }
        if (IPEndPoint.TryParse(text, out var ep) && ep.Port != 0 && text.Contains(':', StringComparison.Ordinal) &&
            (ep.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork || text.StartsWith('[')))
        {
            return ep;
        }
        Error(Get(map, key)!, Child(path, key), $"'{text}' is not an address of the form ip:port (e.g. 127.0.0.1:15000 or [::1]:15000)");
        return null;
    }

    public static string Kind(YamlNode node) => node switch
    {
        YamlMappingNode => "mapping",
        YamlSequenceNode => "list",
        _ => "scalar",
    };

    private static string Describe(YamlNode node) => node is YamlScalarNode s ? $"'{s.Value}'" : $"a {Kind(node)}";
}
