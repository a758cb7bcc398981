using System.ComponentModel;
using System.Diagnostics;

namespace Ztunnel.Capture;

/// <summary>
/// Runs a tool as a child process inside a network namespace (<c>nsenter --net=PATH TOOL ARGS</c>).
/// nsenter rather than forking from the netns thread: the child's namespace is then explicit on its
/// command line, independent of which thread .NET forks from.
/// </summary>
internal static class NetnsCommand
{
    /// <summary>
    /// Runs the tool and returns its exit code and output. Throws <see cref="CaptureException"/> naming the
    /// netns and the command when it cannot be started or does not finish within the timeout; a non-zero
    /// exit is returned, because some (e.g. "File exists") are expected by the caller.
    /// </summary>
    public static async Task<CommandResult> RunAsync(
        CaptureOptions options,
        string netnsPath,
        string tool,
        IReadOnlyList<string> arguments,
        string? standardInput,
        TimeProvider timeProvider,
        CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(options.Nsenter)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add($"--net={netnsPath}");
        start.ArgumentList.Add(tool);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        // Stable, English messages: callers match "File exists" and the like.
        start.Environment["LC_ALL"] = "C";
        string commandLine = $"{options.Nsenter} --net={netnsPath} {tool} {string.Join(' ', arguments)}";

        Process process;
        try
        {
            process = Process.Start(start)
                ?? throw new CaptureException($"netns '{netnsPath}': could not start `{commandLine}`");
        }
        catch (Win32Exception ex)
        {
            throw new CaptureException($"netns '{netnsPath}': cannot run `{commandLine}`: {options.Nsenter}: {ex.Message}", ex);
        }

        using (process)
        using (var timeout = new CancellationTokenSource(options.CommandTimeout, timeProvider))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token))
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync(linked.Token);
            Task<string> stderr = process.StandardError.ReadToEndAsync(linked.Token);
            try
            {
                await WriteInputAsync(process, standardInput, linked.Token);
                await process.WaitForExitAsync(linked.Token);
                return new CommandResult(process.ExitCode, await stdout, (await stderr).Trim(), commandLine, netnsPath);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                process.Kill(entireProcessTree: true);
                throw new CaptureException($"netns '{netnsPath}': `{commandLine}` did not finish within {options.CommandTimeout.TotalSeconds:0} s");
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }
        }
    }

    private static async Task WriteInputAsync(Process process, string? standardInput, CancellationToken cancellationToken)
    {
        try
        {
            if (standardInput is not null)
            {
                await process.StandardInput.WriteAsync(standardInput.AsMemory(), cancellationToken);
            }
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The child exited before reading its input (e.g. nsenter could not enter the netns);
            // its exit code and error output say why.
        }
    }
}
