using System.Text.Json;
using System.Text.Json.Nodes;
using Ztunnel.Capture.Registration;

namespace Ztunnel.Capture.Cni;

/// <summary>
/// `ztunnel cni`: a chained CNI plugin (CNI spec 1.0) that tells the node's daemon about a pod and passes
/// the previous plugin's result through unchanged. It is a thin client of the registration API: all the
/// work (rules, listeners) happens in the daemon.
/// </summary>
public sealed class CniPlugin
{
    public const string DefaultSocketPath = "/var/run/ztunnel/cni.sock";
    private static readonly string[] SupportedVersions = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

    private readonly Func<string, RegistrationClient> _clientFactory;

    public CniPlugin(Func<string, RegistrationClient>? clientFactory = null)
    {
        _clientFactory = clientFactory ?? (static path => new RegistrationClient(path, TimeSpan.FromSeconds(30)));
    }

    /// <summary>Runs one CNI invocation. Returns the process exit code; errors go to stdout as CNI error JSON.</summary>
    public async Task<int> RunAsync(Func<string, string?> environment, TextReader stdin, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        string command = environment("CNI_COMMAND") ?? "";
        string cniVersion = "1.0.0";
        try
        {
            if (command == "VERSION")
            {
                await stdout.WriteLineAsync(VersionJson(cniVersion));
                return 0;
            }
            var config = CniNetworkConfig.Parse(await stdin.ReadToEndAsync(cancellationToken));
            cniVersion = config.CniVersion;
            var invocation = CniInvocation.FromEnvironment(command, environment);
            switch (command)
            {
                case "ADD":
                    await AddAsync(config, invocation, stdout, cancellationToken);
                    return 0;
                case "DEL":
                    await DeleteAsync(config, invocation, stderr, cancellationToken);
                    return 0;
                case "CHECK":
                    await CheckAsync(config, invocation, cancellationToken);
                    return 0;
                default:
                    throw new CniException(CniErrorCode.InvalidEnvironment, $"CNI_COMMAND '{command}' is not one of ADD, DEL, CHECK, VERSION");
            }
        }
        catch (CniException ex)
        {
            await stdout.WriteLineAsync(ex.ToJson(cniVersion));
            return 1;
        }
        catch (RegistrationException ex)
        {
            var error = new CniException(ex.DaemonUnreachable ? CniErrorCode.TryAgainLater : CniErrorCode.IoFailure, ex.Message);
            await stdout.WriteLineAsync(error.ToJson(cniVersion));
            return 1;
        }
    }

    private async Task AddAsync(CniNetworkConfig config, CniInvocation invocation, TextWriter stdout, CancellationToken cancellationToken)
    {
        if (config.PrevResult is null)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "ztunnel is a chained plugin: it must come after the plugin that assigns the pod's IPs (no prevResult in the config)");
        }
        var registration = new PodRegistration
        {
            Uid = invocation.PodUid,
            Name = invocation.PodName,
            Namespace = invocation.PodNamespace,
            Netns = invocation.Netns,
            Ips = config.PodIps(),
        };
        string? invalid = registration.Validate();
        if (invalid is not null)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, invalid);
        }
        using var client = _clientFactory(config.SocketPath);
        await client.AddAsync(registration, cancellationToken);

        // Pass the previous result through: we change nothing about the pod's interfaces or addresses.
        var result = config.PrevResult.DeepClone();
        result["cniVersion"] = config.CniVersion;
        await stdout.WriteLineAsync(result.ToJsonString());
    }

    private async Task DeleteAsync(CniNetworkConfig config, CniInvocation invocation, TextWriter stderr, CancellationToken cancellationToken)
    {
        using var client = _clientFactory(config.SocketPath);
        try
        {
            await client.RemoveAsync(invocation.PodUid, cancellationToken);
        }
        catch (RegistrationException ex) when (ex.DaemonUnreachable)
        {
            // DEL must succeed when there is nothing left to do. The pod's netns (and its rules) go with the
            // pod; a restarting daemon does not restore a pod whose netns is gone.
            await stderr.WriteLineAsync($"ztunnel cni: DEL of {invocation.PodUid}: {ex.Message}; nothing to clean up here");
        }
    }

    private async Task CheckAsync(CniNetworkConfig config, CniInvocation invocation, CancellationToken cancellationToken)
    {
        using var client = _clientFactory(config.SocketPath);
        PodStatus? status = await client.GetAsync(invocation.PodUid, cancellationToken);
        if (status is null)
        {
            throw new CniException(CniErrorCode.UnknownContainer, $"pod {invocation.PodUid} is not registered with the ztunnel daemon");
        }
        if (status.State != PodState.Ready)
        {
            throw new CniException(CniErrorCode.IoFailure, $"pod {invocation.PodUid} is {status.State.ToString().ToLowerInvariant()}: {status.Error}");
        }
    }

    private static string VersionJson(string cniVersion)
    {
        var versions = new JsonArray();
        foreach (string v in SupportedVersions)
        {
            versions.Add((JsonNode?)v); // the JsonNode overload: Add<T> is not trim-safe
        }
        return new JsonObject { ["cniVersion"] = cniVersion, ["supportedVersions"] = versions }.ToJsonString();
    }
}
