namespace Ztunnel.Capture.Cni;

/// <summary>The pod a CNI call is about, from the CNI_* environment variables.</summary>
public sealed record CniInvocation(string Command, string ContainerId, string Netns, string PodName, string PodNamespace, string PodUid)
{
    public static CniInvocation FromEnvironment(string command, Func<string, string?> environment)
    {
        string containerId = environment("CNI_CONTAINERID") ?? "";
        if (containerId.Length == 0)
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, "CNI_CONTAINERID is not set");
        }
        // CNI_NETNS may be empty on DEL (the sandbox is already gone); ADD and CHECK need it.
        string netns = environment("CNI_NETNS") ?? "";
        if (netns.Length == 0 && command != "DEL")
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, "CNI_NETNS is not set");
        }
        var args = ParseArgs(environment("CNI_ARGS") ?? "");
        string name = args.GetValueOrDefault("K8S_POD_NAME") ?? "";
        string ns = args.GetValueOrDefault("K8S_POD_NAMESPACE") ?? "";
        if (command != "DEL" && (name.Length == 0 || ns.Length == 0))
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, "CNI_ARGS must carry K8S_POD_NAME and K8S_POD_NAMESPACE");
        }
        // The runtime passes the pod uid on every call; the sandbox id is the fallback key for ADD and DEL alike.
        string uid = args.GetValueOrDefault("K8S_POD_UID") is { Length: > 0 } u ? u : containerId;
        return new CniInvocation(command, containerId, netns, name, ns, uid);
    }

    /// <summary>Parses "K1=V1;K2=V2". A pair without '=' is an error the runtime should hear about.</summary>
    private static Dictionary<string, string> ParseArgs(string cniArgs)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string pair in cniArgs.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new CniException(CniErrorCode.InvalidEnvironment, $"CNI_ARGS entry '{pair}' is not KEY=VALUE");
            }
            result[pair[..eq]] = pair[(eq + 1)..];
        }
        return result;
    }
}
