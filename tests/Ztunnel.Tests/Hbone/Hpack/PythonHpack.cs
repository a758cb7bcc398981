using System.Diagnostics;

namespace Ztunnel.Tests.Hbone.Hpack;

/// <summary>
/// Runs a script against python-hpack (the HPACK library under python3-h2), an independent implementation
/// we check our encoder and decoder against. Uses /usr/bin/python3 explicitly (RULES: the pyenv python
/// on PATH lacks h2).
/// </summary>
internal static class PythonHpack
{
    public static async Task<string> RunAsync(string script, string stdin)
    {
        var start = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start /usr/bin/python3");
        await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        string output = await stdout;
        process.ExitCode.ShouldBe(0, $"python-hpack script failed: {await stderr}");
        return output;
    }
}
