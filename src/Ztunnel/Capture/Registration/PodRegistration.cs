using System.Net;
using System.Text.Json.Serialization;

namespace Ztunnel.Capture.Registration;

/// <summary>
/// What the CNI plugin (or a test, or the demo) tells the daemon about a pod that joined its node.
/// This is the body of <c>POST /v1/pods</c>.
/// </summary>
public sealed record PodRegistration
{
    [JsonPropertyName("uid")] public string Uid { get; init; } = "";
    [JsonPropertyName("name")] public string Name { get; init; } = "";
    [JsonPropertyName("namespace")] public string Namespace { get; init; } = "";

    /// <summary>Optional: the daemon prefers the service account it knows from its state.</summary>
    [JsonPropertyName("serviceAccount")] public string? ServiceAccount { get; init; }

    /// <summary>Path of the pod's network namespace, e.g. <c>/var/run/netns/cni-1234</c> or <c>/proc/42/ns/net</c>.</summary>
    [JsonPropertyName("netns")] public string Netns { get; init; } = "";

    [JsonPropertyName("ips")] public IReadOnlyList<string> Ips { get; init; } = [];

    /// <summary>The parsed <see cref="Ips"/>; valid only after <see cref="Validate"/> returned null.</summary>
    [JsonIgnore]
    public IReadOnlyList<IPAddress> Addresses
    {
        get
        {
            var addresses = new IPAddress[Ips.Count];
            for (int i = 0; i < addresses.Length; i++)
            {
                addresses[i] = IPAddress.Parse(Ips[i]);
            }
            return addresses;
        }
    }

    /// <summary>Checks every field; returns a message naming the field and what is wrong, or null.</summary>
    public string? Validate()
    {
        if (string.IsNullOrWhiteSpace(Uid))
        {
            return "uid is required";
        }
        if (string.IsNullOrWhiteSpace(Name))
        {
            return $"pod {Uid}: name is required";
        }
        if (string.IsNullOrWhiteSpace(Namespace))
        {
            return $"pod {Uid}: namespace is required";
        }
        if (string.IsNullOrWhiteSpace(Netns) || !Netns.StartsWith('/'))
        {
            return $"pod {Uid}: netns must be an absolute path of a network namespace (got '{Netns}')";
        }
        if (Ips.Count == 0)
        {
            return $"pod {Uid}: ips must list at least one pod IP";
        }
        foreach (string ip in Ips)
        {
            if (!IPAddress.TryParse(ip, out _))
            {
                return $"pod {Uid}: ips: '{ip}' is not an IP address";
            }
        }
        return null;
    }

    public override string ToString() => $"{Namespace}/{Name} ({Uid})";
}
