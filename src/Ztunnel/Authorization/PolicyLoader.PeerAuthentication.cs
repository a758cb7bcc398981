using YamlDotNet.RepresentationModel;

namespace Ztunnel.Authorization;

internal static partial class PolicyLoader
{
    private static PeerAuthentication ReadPeerAuthentication(YamlReader reader, YamlMappingNode? spec, PolicyMetadata metadata, string path)
    {
        spec ??= new YamlMappingNode();
        IReadOnlyDictionary<string, string>? selector = null;
        var mode = MtlsMode.Unset;
        var portModes = new Dictionary<int, MtlsMode>();
        YamlNode? portLevelNode = null;
        foreach (var (key, keyNode, value) in reader.Entries(spec, path))
        {
            switch (key)
            {
                case "selector":
                    selector = ReadSelector(reader, value, $"{path}.selector");
                    break;
                case "mtls":
                    mode = ReadMtls(reader, value, $"{path}.mtls");
                    break;
                case "portLevelMtls":
                    var ports = reader.Mapping(value, $"{path}.portLevelMtls");
                    if (ports is null)
                    {
                        break;
                    }
                    portLevelNode = value;
                    if (ports.Children.Count == 0)
                    {
                        throw reader.Error(value, $"{path}.portLevelMtls", "if defined, must have at least one port");
                    }
                    foreach (var (port, portNode, portValue) in reader.Entries(ports, $"{path}.portLevelMtls"))
                    {
                        string field = $"{path}.portLevelMtls[{port}]";
                        if (!ValueParsers.TryParsePort(port, out int number, out _) || number == 0)
                        {
                            throw reader.Error(portNode, field, $"'{port}' is not a port number (1-65535)");
                        }
                        portModes[number] = ReadMtls(reader, portValue, field);
                    }
                    break;
                default:
                    reader.WarnUnknown(keyNode, $"{path}.{key}");
                    break;
            }
        }
        if (portLevelNode is not null && selector is null)
        {
            throw reader.Error(portLevelNode, $"{path}.portLevelMtls", "mesh or namespace PeerAuthentication (no selector) cannot have port level mTLS");
        }
        return new PeerAuthentication
        {
            Ref = metadata.Ref,
            Selector = selector,
            Mode = mode,
            PortModes = portModes,
            Location = metadata.Location,
        };
    }

    private static MtlsMode ReadMtls(YamlReader reader, YamlNode node, string path)
    {
        var mtls = reader.Mapping(node, path);
        if (mtls is null)
        {
            return MtlsMode.Unset;
        }
        var mode = MtlsMode.Unset;
        foreach (var (key, keyNode, value) in reader.Entries(mtls, path))
        {
            if (key != "mode")
            {
                reader.WarnUnknown(keyNode, $"{path}.{key}");
                continue;
            }
            string text = reader.Scalar(value, $"{path}.mode") ?? "UNSET";
            mode = text switch
            {
                "UNSET" => MtlsMode.Unset,
                "DISABLE" => MtlsMode.Disable,
                "PERMISSIVE" => MtlsMode.Permissive,
                "STRICT" => MtlsMode.Strict,
                _ => throw reader.Error(value, $"{path}.mode", $"'{text}' is not a mode (UNSET, DISABLE, PERMISSIVE or STRICT)"),
            };
        }
        return mode;
    }
}
