using System.Diagnostics;
using System.Text;

namespace Ztunnel.Tests.Tls;

/// <summary>An openssl command line tool run as an independent TLS peer; killed and reaped on dispose.</summary>
internal sealed class OpenSslProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<string> _acceptLine = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(string Text, TaskCompletionSource Seen)> _lineWaiters = [];

    private OpenSslProcess(Process process)
    {
        _process = process;
    }

    public static OpenSslProcess Start(string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo("openssl")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        var process = new Process { StartInfo = info };
        var result = new OpenSslProcess(process);
        process.OutputDataReceived += (_, e) => result.OnLine(e.Data, result._stdoutClosed);
        process.ErrorDataReceived += (_, e) => result.OnLine(e.Data, result._stderrClosed);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    public StreamWriter Input => _process.StandardInput;

    /// <summary>Closes openssl's stdin (s_client then closes its connection); fine if it already exited.</summary>
    public void CloseInput()
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
            // Broken pipe: the process is gone already.
        }
    }

    /// <summary>Everything printed on stdout and stderr so far, interleaved by line.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The port from s_server's "ACCEPT 127.0.0.1:port" line (it was started with -accept 127.0.0.1:0).</summary>
    public async Task<int> AcceptPortAsync()
    {
        string line = await _acceptLine.Task.WaitAsync(LoopbackTls.HangGuard);
        return int.Parse(line[(line.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Waits until a line of output is exactly <paramref name="text"/> (already printed counts).</summary>
    public Task WaitForLineAsync(string text)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            if (_output.ToString().Split('\n').Any(line => line.TrimEnd('\r') == text))
            {
                return Task.CompletedTask;
            }
            _lineWaiters.Add((text, seen));
        }
        return seen.Task.WaitAsync(LoopbackTls.HangGuard);
    }

    /// <summary>Waits for the process to exit and its output to be fully read; returns the exit code.</summary>
    public async Task<int> WaitForExitAsync()
    {
        await _process.WaitForExitAsync().WaitAsync(LoopbackTls.HangGuard);
        await Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task).WaitAsync(LoopbackTls.HangGuard);
        return _process.ExitCode;
    }

    private void OnLine(string? line, TaskCompletionSource closed)
    {
        if (line is null)
        {
            closed.TrySetResult();
            _acceptLine.TrySetException(new InvalidOperationException($"openssl exited without accepting:\n{Output}"));
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
            foreach (var (text, seen) in _lineWaiters)
            {
                if (line == text)
                {
                    seen.TrySetResult();
                }
            }
        }
        if (line.StartsWith("ACCEPT ", StringComparison.Ordinal))
        {
            _acceptLine.TrySetResult(line);
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(30_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already exited and reaped.
        }
        _process.Dispose();
    }
}
