namespace Ztunnel.Tests;

public sealed class SmokeTests
{
    [Fact]
    public void CommandLine_HasVersionCommand()
    {
        Ztunnel.Cli.CommandLine.Build().Subcommands.ShouldContain(c => c.Name == "version");
    }
}
