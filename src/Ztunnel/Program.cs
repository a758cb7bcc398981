using Ztunnel.Cli;

namespace Ztunnel;

/// <summary>Entry point: builds the command line and runs it. Decides nothing itself.</summary>
internal static class Program
{
    public static Task<int> Main(string[] args) => CommandLine.Build().Parse(args).InvokeAsync();
}
