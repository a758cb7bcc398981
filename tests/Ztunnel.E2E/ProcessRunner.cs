using System.Diagnostics;

namespace Ztunnel.E2E;

/// <summary>Runs short helper commands (ip, iptables-save) for tests; a failure throws with the command's stderr.</summary>
public static class ProcessRunner
{
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string file, params string[] arguments) =>
        RunAsync(file, new Dictionary<string, string>(), arguments);

    /// <summary>Runs the command with <paramref name="environment"/> added to this process's environment.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(
        string file, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["LC_ALL"] = "C";
        foreach ((string name, string value) in environment)
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs the command and returns its stdout; throws naming the command and its stderr on a non-zero exit.</summary>
    public static async Task<string> CheckedAsync(string file, params string[] arguments)
    {
        (int exitCode, string stdout, string stderr) = await RunAsync(file, arguments);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"`{file} {string.Join(' ', arguments)}` failed (exit {exitCode}): {stderr.Trim()}");
        }
        return stdout;
    }
}
