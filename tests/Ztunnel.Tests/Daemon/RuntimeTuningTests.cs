using Ztunnel.Daemon;

namespace Ztunnel.Tests.Daemon;

public sealed class RuntimeTuningTests
{
    [Fact]
    public void Apply_KeepsTheOperatorsOwnValue_AndSetsTheDefaultOnlyWhenUnset()
    {
        string name = RuntimeTuning.InlineSocketCompletions;
        string? before = Environment.GetEnvironmentVariable(name);
        try
        {
            Environment.SetEnvironmentVariable(name, "0");
            RuntimeTuning.Apply();
            Environment.GetEnvironmentVariable(name).ShouldBe("0");

            Environment.SetEnvironmentVariable(name, null);
            RuntimeTuning.Apply();
            Environment.GetEnvironmentVariable(name).ShouldBe("1");
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, before);
        }
    }
}
