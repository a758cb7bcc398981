using System.Net;
using YamlDotNet.RepresentationModel;
using Ztunnel.Tls;

namespace Ztunnel.Discovery;

internal static partial class LocalConfigLoader
{
    private static List<Workload> ReadWorkloads(ConfigReader reader, YamlMappingNode root, string trustDomain)
    {
        var workloads = new List<Workload>();
        var uids = new Dictionary<string, int>(StringComparer.Ordinal);
        var owners = new Dictionary<IPAddress, string>();
        foreach (var (map, path, _) in reader.MappingItems(root, "workloads", ""))
        {
            reader.CheckKeys(map, path, "uid", "name", "namespace", "serviceAccount", "ips", "node", "labels", "protocol");
            string? uid = reader.String(map, "uid", path, required: true);
            string? name = reader.String(map, "name", path, required: true);
            string? ns = reader.String(map, "namespace", path, required: true);
            string sa = reader.String(map, "serviceAccount", path, required: false) ?? "default";
            string node = reader.String(map, "node", path, required: false) ?? "";

            if (uid is not null && !uids.TryAdd(uid, ConfigReader.Line(map)))
            {
                reader.Error(ConfigReader.Get(map, "uid")!, ConfigReader.Child(path, "uid"), $"duplicate uid '{uid}' (first used at line {uids[uid]})");
            }
            if (ns is not null)
            {
                // The identity is built from namespace and service account: both must be valid SPIFFE segments.
                try
                {
                    _ = new SpiffeId(trustDomain, ns, sa);
                }
                catch (FormatException e)
                {
                    reader.Error(map, path, e.Message);
                }
            }

            var addresses = new List<IPAddress>();
            foreach (var (text, ipNode, ipPath) in reader.Strings(map, "ips", path))
            {
                if (reader.Address(text, ipNode, ipPath) is not { } ip)
                {
                    continue;
                }
                if (owners.TryGetValue(ip, out string? owner))
                {
                    reader.Error(ipNode, ipPath, $"address {ip} is already used by workload '{owner}'");
                    continue;
                }
                owners[ip] = uid ?? name ?? path;
                addresses.Add(ip);
            }

            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            if (reader.Mapping(map, "labels", path) is { } labelMap)
            {
                foreach (var (k, v) in labelMap.Children)
                {
                    string key = (k as YamlScalarNode)?.Value ?? "";
                    if (v is YamlScalarNode { Value: { } value } && k is YamlScalarNode)
                    {
                        labels[key] = value;
                    }
                    else
                    {
                        reader.Error(k, ConfigReader.Child(ConfigReader.Child(path, "labels"), key), "label keys and values must be strings");
                    }
                }
            }

            var protocol = WorkloadProtocol.Hbone;
            if (reader.String(map, "protocol", path, required: false) is { } p)
            {
                switch (p.ToUpperInvariant())
                {
                    case "HBONE":
                        protocol = WorkloadProtocol.Hbone;
                        break;
                    case "TCP":
                        protocol = WorkloadProtocol.Tcp;
                        break;
                    default:
                        reader.Error(ConfigReader.Get(map, "protocol")!, ConfigReader.Child(path, "protocol"), $"unknown protocol '{p}' (HBONE or TCP)");
                        break;
                }
            }

            if (uid is not null && name is not null && ns is not null)
            {
                workloads.Add(new Workload
                {
                    Uid = uid,
                    Name = name,
                    Namespace = ns,
                    ServiceAccount = sa,
                    Addresses = addresses,
                    Node = node,
                    Labels = labels,
                    Protocol = protocol,
                });
            }
        }
        return workloads;
    }

    private static List<Service> ReadServices(ConfigReader reader, YamlMappingNode root, List<Workload> workloads)
    {
        var byUid = new Dictionary<string, Workload>(StringComparer.Ordinal);
        var workloadAddresses = new HashSet<IPAddress>();
        foreach (var w in workloads)
        {
            byUid.TryAdd(w.Uid, w);
            workloadAddresses.UnionWith(w.Addresses);
        }

        var services = new List<Service>();
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var vipOwners = new Dictionary<IPAddress, string>();
        foreach (var (map, path, _) in reader.MappingItems(root, "services", ""))
        {
            reader.CheckKeys(map, path, "name", "namespace", "vips", "ports", "endpoints");
            string? name = reader.String(map, "name", path, required: true);
            string? ns = reader.String(map, "namespace", path, required: true);
            string display = $"{ns}/{name}";
            if (name is not null && ns is not null && !names.TryAdd(display, ConfigReader.Line(map)))
            {
                reader.Error(map, path, $"duplicate service '{display}' (first defined at line {names[display]})");
            }

            var vips = new List<IPAddress>();
            foreach (var (text, node, vipPath) in reader.Strings(map, "vips", path))
            {
                if (reader.Address(text, node, vipPath) is not { } vip)
                {
                    continue;
                }
                if (vipOwners.TryGetValue(vip, out string? owner))
                {
                    reader.Error(node, vipPath, $"VIP {vip} is already used by service '{owner}'");
                }
                else if (workloadAddresses.Contains(vip))
                {
                    reader.Error(node, vipPath, $"VIP {vip} is also a workload address");
                }
                else
                {
                    vipOwners[vip] = display;
                    vips.Add(vip);
                }
            }

            var ports = new List<ServicePort>();
            foreach (var (portMap, portPath, _) in reader.MappingItems(map, "ports", path))
            {
                reader.CheckKeys(portMap, portPath, "port", "targetPort");
                int? port = reader.Int(portMap, "port", portPath, 1, 65535);
                if (ConfigReader.Get(portMap, "port") is null)
                {
                    reader.Error(portMap, ConfigReader.Child(portPath, "port"), "is required");
                }
                int? target = reader.Int(portMap, "targetPort", portPath, 1, 65535);
                if (port is int p)
                {
                    if (ports.Exists(x => x.Port == p))
                    {
                        reader.Error(portMap, portPath, $"port {p} is listed twice");
                    }
                    else
                    {
                        ports.Add(new ServicePort(p, target ?? p));
                    }
                }
            }

            var endpoints = new List<ServiceEndpoint>();
            foreach (var (epMap, epPath, _) in reader.MappingItems(map, "endpoints", path))
            {
                if (ReadEndpoint(reader, epMap, epPath, byUid) is { } endpoint)
                {
                    if (endpoints.Exists(x => x.WorkloadUid == endpoint.WorkloadUid && Equals(x.TargetAddress, endpoint.TargetAddress)))
                    {
                        reader.Error(epMap, epPath, $"endpoint for workload '{endpoint.WorkloadUid}' is listed twice");
                    }
                    endpoints.Add(endpoint);
                }
            }

            if (name is not null && ns is not null)
            {
                services.Add(new Service { Name = name, Namespace = ns, Vips = vips, Ports = ports, Endpoints = endpoints });
            }
        }
        return services;
    }

    private static ServiceEndpoint? ReadEndpoint(ConfigReader reader, YamlMappingNode map, string path, Dictionary<string, Workload> byUid)
    {
        reader.CheckKeys(map, path, "workload", "ip", "healthy", "weight");
        string? uid = reader.String(map, "workload", path, required: true);
        bool healthy = reader.Bool(map, "healthy", path) ?? true;
        int weight = reader.Int(map, "weight", path, 0, 1_000_000) ?? 1;
        IPAddress? target = null;
        if (reader.String(map, "ip", path, required: false) is { } ipText)
        {
            target = reader.Address(ipText, ConfigReader.Get(map, "ip")!, ConfigReader.Child(path, "ip"));
        }
        if (uid is null)
        {
            return null;
        }
        if (!byUid.TryGetValue(uid, out var workload))
        {
            reader.Error(ConfigReader.Get(map, "workload")!, ConfigReader.Child(path, "workload"), $"unknown workload uid '{uid}' (not in workloads:)");
            return null;
        }
        if (target is not null && !workload.Addresses.Contains(target))
        {
            reader.Error(ConfigReader.Get(map, "ip")!, ConfigReader.Child(path, "ip"), $"{target} is not an address of workload '{uid}'");
            return null;
        }
        if (target is null && workload.Addresses.Count == 0)
        {
            reader.Error(map, path, $"workload '{uid}' has no address to send traffic to");
            return null;
        }
        return new ServiceEndpoint { WorkloadUid = uid, TargetAddress = target, Healthy = healthy, Weight = weight };
    }
}
