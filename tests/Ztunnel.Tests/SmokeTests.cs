namespace Ztunnel.Tests;

public sealed class SmokeTests
{
    [Fact]
    public void CommandLine_HasVersionCommand()
    {
        Cli.CommandLine.Build().Subcommands.ShouldContain(c => c.Name == "version");
    }
}
