namespace Ztunnel.Capture;

/// <summary>What a tool run by <see cref="NetnsCommand"/> did.</summary>
internal readonly record struct CommandResult(int ExitCode, string Stdout, string Stderr, string CommandLine, string NetnsPath)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>Throws unless the tool exited 0.</summary>
    public CommandResult EnsureSuccess()
    {
        if (ExitCode != 0)
        {
            throw Failure();
        }
        return this;
    }

    /// <summary>"netns '/var/run/netns/x': `nsenter ... iptables-restore ...` failed (exit 2): line 4: ..."</summary>
    public CaptureException Failure() =>
        new($"netns '{NetnsPath}': `{CommandLine}` failed (exit {ExitCode}): {(Stderr.Length > 0 ? Stderr : "(no error output)")}");
}
