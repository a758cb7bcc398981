using System.CommandLine;
using Ztunnel.Capture.Cni;

namespace Ztunnel.Cli;

/// <summary>`ztunnel cni`: the CNI plugin entry (the runtime calls the binary with CNI_* env and stdin).</summary>
internal static class CniCommand
{
    public static Command Create()
    {
        var command = new Command("cni", "Run as a chained CNI plugin (CNI_COMMAND, CNI_NETNS, ... in the environment, config on stdin).");
        command.SetAction((_, cancellationToken) =>
            new CniPlugin().RunAsync(Environment.GetEnvironmentVariable, Console.In, Console.Out, Console.Error, cancellationToken));
        return command;
    }
}
