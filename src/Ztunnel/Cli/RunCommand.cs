using System.CommandLine;
using Ztunnel.Daemon;

namespace Ztunnel.Cli;

/// <summary>`ztunnel run --config FILE`: the node daemon.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config", "-c") { Description = "The local configuration file (YAML).", Required = true };
        var drain = new Option<int>("--drain-seconds") { Description = "On SIGTERM, how long to wait for open connections before cutting them.", DefaultValueFactory = _ => 20 };
        var command = new Command("run", "Run the node daemon.") { config, drain };
        command.SetAction((result, cancellationToken) =>
        {
            RuntimeTuning.Apply();
            var options = new DaemonOptions(result.GetValue(config)!.FullName) { DrainTimeout = TimeSpan.FromSeconds(Math.Max(0, result.GetValue(drain))) };
            return new ZtunnelDaemon(options).RunAsync(cancellationToken);
        });
        return command;
    }
}
