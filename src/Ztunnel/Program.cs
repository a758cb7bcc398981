using System.CommandLine;
using Ztunnel.Cli;

namespace Ztunnel;

/// <summary>Entry point: builds the command line and runs it. Decides nothing itself.</summary>
internal static class Program
{
    public static Task<int> Main(string[] args) =>
        CommandLine.Build().Parse(args).InvokeAsync(new InvocationConfiguration
        {
            // No System.CommandLine signal handling: on SIGTERM it would cancel the command and exit the
            // process with 143 two seconds later, cutting `ztunnel run`'s drain (up to --drain-seconds,
            // 20 s by default) short. The daemon handles SIGTERM/SIGINT itself; other commands are short.
            ProcessTerminationTimeout = null,
        });
}
