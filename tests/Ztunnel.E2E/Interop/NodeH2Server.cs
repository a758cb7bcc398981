using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Threading.Channels;
using Ztunnel.Tls;

namespace Ztunnel.E2E.Interop;

/// <summary>
/// Runs an independent HTTP/2 CONNECT peer: h2-connect-server.js (Node's built-in http2) or
/// h2-connect-server.py (python-h2), with a certificate minted for
/// <see cref="InteropPki.ServerId"/>; its stdout events are readable as JSON.
/// </summary>
internal sealed class NodeH2Server : IAsyncDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly string _directory;
    private readonly Channel<JsonElement> _events = Channel.CreateUnbounded<JsonElement>();
    private readonly Task _pump;

    private NodeH2Server(Process process, string directory)
    {
        _process = process;
        _directory = directory;
        _pump = PumpAsync();
    }

    public IPEndPoint EndPoint { get; private set; } = null!;

    public static Task<NodeH2Server> StartAsync(int maxConcurrentStreams = 100) =>
        StartAsync("node", "h2-connect-server.js", $"--max-streams={maxConcurrentStreams}");

    /// <summary>The same CONNECT peer written with python-h2 (h2-connect-server.py).</summary>
    public static Task<NodeH2Server> StartPythonAsync() => StartAsync("/usr/bin/python3", "h2-connect-server.py");

    private static async Task<NodeH2Server> StartAsync(string program, string script, params string[] extra)
    {
        string directory = Directory.CreateTempSubdirectory("h2client-peer-").FullName;
        using WorkloadCertificate certificate = InteropPki.Issue(InteropPki.ServerId);
        await File.WriteAllTextAsync(Path.Combine(directory, "cert.pem"), certificate.CertificateChainPem());
        await File.WriteAllTextAsync(Path.Combine(directory, "key.pem"), certificate.PrivateKeyPem());
        await File.WriteAllTextAsync(Path.Combine(directory, "ca.pem"), InteropPki.Bundle.ToPem());
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Interop", script));
        start.ArgumentList.Add($"--cert={Path.Combine(directory, "cert.pem")}");
        start.ArgumentList.Add($"--key={Path.Combine(directory, "key.pem")}");
        start.ArgumentList.Add($"--ca={Path.Combine(directory, "ca.pem")}");
        foreach (string arg in extra)
        {
            start.ArgumentList.Add(arg);
        }
        var server = new NodeH2Server(Process.Start(start)!, directory);
        JsonElement listening = await server.NextEventAsync("listening");
        server.EndPoint = new IPEndPoint(IPAddress.Loopback, listening.GetProperty("port").GetInt32());
        return server;
    }

    /// <summary>The next event named <paramref name="name"/> (others are skipped).</summary>
    public async Task<JsonElement> NextEventAsync(string name)
    {
        while (true)
        {
            JsonElement e = await _events.Reader.ReadAsync().AsTask().WaitAsync(Guard);
            if (e.GetProperty("event").GetString() == name)
            {
                return e;
            }
        }
    }

    private async Task PumpAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith('{'))
            {
                Console.Error.WriteLine($"peer: {line}");
                await _events.Writer.WriteAsync(JsonDocument.Parse(line).RootElement.Clone());
            }
        }
        _events.Writer.TryComplete();
    }

    public async ValueTask DisposeAsync()
    {
        _process.StandardInput.Close();
        try
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            _process.Kill();
        }
        await _pump.WaitAsync(Guard);
        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
