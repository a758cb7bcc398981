using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ztunnel.Capture.Cni;

/// <summary>The network configuration the runtime passes on stdin (only the fields we use).</summary>
public sealed class CniNetworkConfig
{
    private CniNetworkConfig(string cniVersion, string socketPath, JsonObject? prevResult)
    {
        CniVersion = cniVersion;
        SocketPath = socketPath;
        PrevResult = prevResult;
    }

    public string CniVersion { get; }

    /// <summary>Our own config key: where the daemon's registration API listens.</summary>
    public string SocketPath { get; }

    /// <summary>The result of the plugin before us in the chain, passed through on ADD.</summary>
    public JsonObject? PrevResult { get; }

    public static CniNetworkConfig Parse(string json)
    {
        JsonObject config;
        try
        {
            config = JsonNode.Parse(json) as JsonObject ?? throw new CniException(CniErrorCode.DecodeFailure, "network config on stdin is not a JSON object");
        }
        catch (JsonException ex)
        {
            throw new CniException(CniErrorCode.DecodeFailure, $"network config on stdin is not valid JSON: {ex.Message}");
        }
        string version = StringField(config, "cniVersion") ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "network config has no cniVersion");
        string socket = StringField(config, "socketPath") ?? CniPlugin.DefaultSocketPath;
        JsonObject? prev = config["prevResult"] switch
        {
            null => null,
            JsonObject o => o,
            _ => throw new CniException(CniErrorCode.InvalidNetworkConfig, "prevResult is not a JSON object"),
        };
        return new CniNetworkConfig(version, socket, prev);
    }

    /// <summary>The pod's addresses from prevResult.ips[].address (CIDR notation, prefix dropped).</summary>
    public IReadOnlyList<string> PodIps()
    {
        var ips = new List<string>();
        if (PrevResult?["ips"] is JsonArray entries)
        {
            foreach (JsonNode? entry in entries)
            {
                string? address = entry is JsonObject o ? StringField(o, "address") : null;
                if (address is null)
                {
                    throw new CniException(CniErrorCode.InvalidNetworkConfig, "prevResult.ips has an entry without an address");
                }
                int slash = address.IndexOf('/', StringComparison.Ordinal);
                ips.Add(slash < 0 ? address : address[..slash]);
            }
        }
        return ips;
    }

    private static string? StringField(JsonObject o, string name) =>
        o[name] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
}
