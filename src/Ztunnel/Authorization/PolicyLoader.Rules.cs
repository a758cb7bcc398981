using System.Net;
using YamlDotNet.RepresentationModel;

namespace Ztunnel.Authorization;

internal static partial class PolicyLoader
{
    private static SourceMatch ReadSource(YamlReader reader, YamlNode node, string path, string policyNamespace, List<string> l7)
    {
        var source = reader.Mapping(node, path)!;
        StringMatch[] principals = [], notPrincipals = [], namespaces = [], notNamespaces = [];
        ServiceAccountRef[] serviceAccounts = [], notServiceAccounts = [];
        IPNetwork[] ipBlocks = [], notIpBlocks = [];
        bool any = false;
        YamlNode? serviceAccountsNode = null;
        bool identityFields = false;
        foreach (var (key, keyNode, value) in reader.Entries(source, path))
        {
            string field = $"{path}.{key}";
            var values = key is "principals" or "notPrincipals" or "namespaces" or "notNamespaces" or "serviceAccounts" or "notServiceAccounts"
                or "ipBlocks" or "notIpBlocks" or "remoteIpBlocks" or "notRemoteIpBlocks" or "requestPrincipals" or "notRequestPrincipals"
                ? reader.Strings(value, field)
                : null;
            any |= values is { Count: > 0 };
            switch (key)
            {
                case "principals": principals = ReadMatches(reader, values!, principal: true); identityFields |= values!.Count > 0; break;
                case "notPrincipals": notPrincipals = ReadMatches(reader, values!, principal: true); identityFields |= values!.Count > 0; break;
                case "namespaces": namespaces = ReadMatches(reader, values!, principal: false); identityFields |= values!.Count > 0; break;
                case "notNamespaces": notNamespaces = ReadMatches(reader, values!, principal: false); identityFields |= values!.Count > 0; break;
                case "serviceAccounts":
                    serviceAccounts = ReadServiceAccounts(reader, values!, value, field, policyNamespace);
                    serviceAccountsNode ??= serviceAccounts.Length > 0 ? value : null;
                    break;
                case "notServiceAccounts":
                    notServiceAccounts = ReadServiceAccounts(reader, values!, value, field, policyNamespace);
                    serviceAccountsNode ??= notServiceAccounts.Length > 0 ? value : null;
                    break;
                case "ipBlocks": ipBlocks = ReadNetworks(reader, values!); break;
                case "notIpBlocks": notIpBlocks = ReadNetworks(reader, values!); break;
                case "remoteIpBlocks" or "notRemoteIpBlocks":
                    // Validated like Istio does, then treated as HTTP-only (the client IP behind a proxy).
                    _ = ReadNetworks(reader, values!);
                    if (values!.Count > 0)
                    {
                        l7.Add(field);
                    }
                    break;
                case "requestPrincipals" or "notRequestPrincipals":
                    _ = ReadMatches(reader, values!, principal: false);
                    if (values!.Count > 0)
                    {
                        l7.Add(field);
                    }
                    break;
                default:
                    reader.WarnUnknown(keyNode, field);
                    break;
            }
        }
        if (!any)
        {
            throw reader.Error(source, path, "must not be empty");
        }
        if (serviceAccountsNode is not null && identityFields)
        {
            throw reader.Error(serviceAccountsNode, $"{path}.serviceAccounts", "cannot be combined with principals or namespaces (in the same source)");
        }
        return new SourceMatch
        {
            Principals = principals,
            NotPrincipals = notPrincipals,
            Namespaces = namespaces,
            NotNamespaces = notNamespaces,
            ServiceAccounts = serviceAccounts,
            NotServiceAccounts = notServiceAccounts,
            IpBlocks = ipBlocks,
            NotIpBlocks = notIpBlocks,
        };
    }

    /// <summary><c>ns/name</c>, or <c>name</c> meaning a service account of the policy's namespace (as istiod reads it).</summary>
    private static ServiceAccountRef[] ReadServiceAccounts(YamlReader reader, List<(string Value, YamlNode Node, string Field)> values, YamlNode node, string field, string policyNamespace)
    {
        if (values.Count > MaxServiceAccounts)
        {
            throw reader.Error(node, field, $"has {values.Count} entries; at most {MaxServiceAccounts} are allowed");
        }
        var result = new ServiceAccountRef[values.Count];
        for (int i = 0; i < result.Length; i++)
        {
            var (value, itemNode, itemField) = values[i];
            string[] parts = value.Split('/');
            bool valid = parts.Length is 1 or 2 && Array.TrueForAll(parts, p => p.Length > 0 && !p.Contains('*', StringComparison.Ordinal));
            if (!valid)
            {
                throw reader.Error(itemNode, itemField, $"'{value}' is not a service account (expected 'namespace/name' or 'name', no wildcards)");
            }
            result[i] = parts.Length == 2 ? new ServiceAccountRef(parts[0], parts[1]) : new ServiceAccountRef(policyNamespace, parts[0]);
        }
        return result;
    }

    private static OperationMatch ReadOperation(YamlReader reader, YamlNode node, string path, List<string> l7)
    {
        var operation = reader.Mapping(node, path)!;
        int[] ports = [], notPorts = [];
        bool any = false;
        foreach (var (key, keyNode, value) in reader.Entries(operation, path))
        {
            string field = $"{path}.{key}";
            switch (key)
            {
                case "ports" or "notPorts":
                    var values = reader.Strings(value, field);
                    any |= values.Count > 0;
                    if (key == "ports")
                    {
                        ports = ReadPorts(reader, values);
                    }
                    else
                    {
                        notPorts = ReadPorts(reader, values);
                    }
                    break;
                case "hosts" or "notHosts" or "methods" or "notMethods" or "paths" or "notPaths":
                    var httpValues = reader.Strings(value, field);
                    foreach (var (v, n, f) in httpValues)
                    {
                        if (v.Length == 0)
                        {
                            throw reader.Error(n, f, "empty value");
                        }
                    }
                    if (httpValues.Count > 0)
                    {
                        any = true;
                        l7.Add(field);
                    }
                    break;
                default:
                    reader.WarnUnknown(keyNode, field);
                    break;
            }
        }
        if (!any)
        {
            throw reader.Error(operation, path, "must not be empty");
        }
        return ports.Length == 0 && notPorts.Length == 0 ? OperationMatch.Any : new OperationMatch { Ports = ports, NotPorts = notPorts };
    }

    /// <summary>
    /// <c>when</c> conditions. L4 keys compile to matches; known HTTP keys are recorded in <paramref name="l7"/> and
    /// dropped; unknown keys are an error, as in Istio.
    /// </summary>
    private static ConditionMatch[] ReadConditions(YamlReader reader, YamlNode node, string path, List<string> l7)
    {
        var sequence = reader.Sequence(node, path);
        if (sequence is null)
        {
            return [];
        }
        var result = new List<ConditionMatch>();
        for (int i = 0; i < sequence.Children.Count; i++)
        {
            string itemPath = $"{path}[{i}]";
            var condition = reader.Mapping(sequence.Children[i], itemPath) ?? throw reader.Error(sequence.Children[i], itemPath, "must not be null");
            string? key = null;
            YamlNode? keyValueNode = null;
            List<(string Value, YamlNode Node, string Field)> values = [], notValues = [];
            foreach (var (name, nameNode, value) in reader.Entries(condition, itemPath))
            {
                switch (name)
                {
                    case "key": key = reader.Scalar(value, $"{itemPath}.key"); keyValueNode = value; break;
                    case "values": values = reader.Strings(value, $"{itemPath}.values"); break;
                    case "notValues": notValues = reader.Strings(value, $"{itemPath}.notValues"); break;
                    default: reader.WarnUnknown(nameNode, $"{itemPath}.{name}"); break;
                }
            }
            if (string.IsNullOrEmpty(key))
            {
                throw reader.Error(condition, $"{itemPath}.key", "must not be empty");
            }
            if (values.Count == 0 && notValues.Count == 0)
            {
                throw reader.Error(condition, itemPath, $"at least one of values or notValues must be set for key {key}");
            }
            switch (key)
            {
                case "source.ip" or "destination.ip":
                    result.Add(new ConditionMatch
                    {
                        Key = key == "source.ip" ? ConditionKey.SourceIp : ConditionKey.DestinationIp,
                        IpValues = ReadNetworks(reader, values),
                        NotIpValues = ReadNetworks(reader, notValues),
                    });
                    break;
                case "destination.port":
                    result.Add(new ConditionMatch { Key = ConditionKey.DestinationPort, PortValues = ReadPorts(reader, values), NotPortValues = ReadPorts(reader, notValues) });
                    break;
                case "source.namespace" or "source.principal":
                    bool principal = key == "source.principal";
                    result.Add(new ConditionMatch
                    {
                        Key = principal ? ConditionKey.SourcePrincipal : ConditionKey.SourceNamespace,
                        Values = ReadMatches(reader, values, principal),
                        NotValues = ReadMatches(reader, notValues, principal),
                    });
                    break;
                case "remote.ip":
                    _ = ReadNetworks(reader, values);
                    _ = ReadNetworks(reader, notValues);
                    l7.Add($"{itemPath} ({key})");
                    break;
                default:
                    if (!IsKnownHttpConditionKey(key))
                    {
                        throw reader.Error(keyValueNode!, $"{itemPath}.key", $"unknown condition key '{key}'");
                    }
                    l7.Add($"{itemPath} ({key})");
                    break;
            }
        }
        return [.. result];
    }

    // Keys from Istio's "Authorization Policy Conditions" that ztunnel cannot evaluate at L4.
    private static bool IsKnownHttpConditionKey(string key) =>
        key is "source.serviceAccount" or "request.auth.principal" or "request.auth.audiences" or "request.auth.presenter" or "connection.sni"
        || (key.StartsWith("request.headers[", StringComparison.Ordinal) && key.EndsWith(']'))
        || (key.StartsWith("request.auth.claims[", StringComparison.Ordinal) && key.EndsWith(']'))
        || key.StartsWith("experimental.envoy.filters.", StringComparison.Ordinal);
}
