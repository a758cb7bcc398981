using System.CommandLine;
using System.Reflection;

namespace Ztunnel.Cli;

/// <summary>The `ztunnel` command tree. Each subcommand lives in its own file and is added here.</summary>
internal static class CommandLine
{
    public static RootCommand Build()
    {
        var root = new RootCommand("Ztunnel: per-node transparent L4 mTLS daemon (HBONE) for Kubernetes ambient mesh.");
        root.Subcommands.Add(VersionCommand());
        root.Subcommands.Add(CaCommand.Create());
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(ConfigCommand.Create());
        root.Subcommands.Add(CniCommand.Create());
        root.Subcommands.Add(AuthzCommand.Create());
        return root;
    }

    private static Command VersionCommand()
    {
        var command = new Command("version", "Print the build version.");
        command.SetAction(_ =>
        {
            Console.WriteLine(typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown");
            return 0;
        });
        return command;
    }
}
