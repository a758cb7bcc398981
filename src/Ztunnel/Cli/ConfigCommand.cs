using System.CommandLine;
using Ztunnel.Discovery;

namespace Ztunnel.Cli;

/// <summary>`ztunnel config check FILE`: validates a local configuration file the way the daemon would load it.</summary>
internal static class ConfigCommand
{
    public static Command Create()
    {
        var config = new Command("config", "Work with the local configuration file.");
        var file = new Argument<string>("FILE") { Description = "The configuration file (as given to `ztunnel run --config`)." };
        var check = new Command("check", "Validate a configuration file; print every error and warning with file:line.") { file };
        check.SetAction(parse =>
        {
            string path = parse.GetValue(file)!;
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            try
            {
                var loaded = LocalConfigLoader.LoadFile(path);
                foreach (var warning in loaded.Warnings)
                {
                    error.WriteLine($"warning: {warning}");
                }
                var state = loaded.State;
                output.WriteLine(
                    $"{path}: OK: node {loaded.Settings.NodeName}, trust domain {loaded.Settings.TrustDomain}, " +
                    $"{state.Workloads.Count} workloads ({state.WorkloadsOnNode(loaded.Settings.NodeName).Count} on this node), " +
                    $"{state.Services.Count} services, {state.Policies.AuthorizationPolicies.Count} AuthorizationPolicies, " +
                    $"{state.Policies.PeerAuthentications.Count} PeerAuthentications");
                return 0;
            }
            catch (ConfigException e)
            {
                foreach (var problem in e.Errors)
                {
                    error.WriteLine($"error: {problem}");
                }
                error.WriteLine($"{path}: {e.Errors.Count} error(s)");
                return 1;
            }
        });
        config.Subcommands.Add(check);
        return config;
    }
}
