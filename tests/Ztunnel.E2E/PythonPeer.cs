using System.Diagnostics;
using System.Net;

namespace Ztunnel.E2E;

/// <summary>
/// An independent app inside a test namespace: a tiny python TCP server or client run with
/// <c>ip netns exec</c>, reporting what it saw on stdout, one line per event.
/// </summary>
public sealed class PythonPeer : IAsyncDisposable
{
    // Prints "ready", accepts one connection, prints "peer <ip>", answers one line with "echo:<line>".
    private const string ServerScript = """
        import socket, sys
        s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((sys.argv[1], int(sys.argv[2])))
        s.listen(8)
        print("ready", flush=True)
        c, a = s.accept()
        print("peer", a[0], flush=True)
        f = c.makefile("rwb")
        line = f.readline()
        f.write(b"echo:" + line)
        f.flush()
        c.close()
        """;

    // Connects, prints "local <ip>", sends one line, prints "got <reply line>".
    private const string ClientScript = """
        import socket, sys
        c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
        print("local", c.getsockname()[0], flush=True)
        c.sendall(sys.argv[3].encode() + b"\n")
        print("got", c.makefile("rb").readline().decode().strip(), flush=True)
        """;

    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private readonly Process _process;

    private PythonPeer(Process process) => _process = process;

    public static async Task<PythonPeer> StartServerAsync(TestNamespace ns, IPAddress bind, int port)
    {
        var peer = Start(ns, ServerScript, bind.ToString(), port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        string ready = await peer.ReadLineAsync();
        if (ready != "ready")
        {
            await peer.DisposeAsync();
            throw new InvalidOperationException($"python server in {ns} did not start: {ready}");
        }
        return peer;
    }

    public static PythonPeer StartClient(TestNamespace ns, IPEndPoint target, string line) =>
        Start(ns, ClientScript, target.Address.ToString(), target.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), line);

    /// <summary>The next stdout line; throws with the peer's stderr when it exited instead.</summary>
    public async Task<string> ReadLineAsync()
    {
        string? line = await _process.StandardOutput.ReadLineAsync().WaitAsync(Guard);
        if (line is null)
        {
            string stderr = await _process.StandardError.ReadToEndAsync().WaitAsync(Guard);
            throw new InvalidOperationException($"python peer exited: {stderr.Trim()}");
        }
        return line;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(Guard);
        }
        _process.Dispose();
    }

    private static PythonPeer Start(TestNamespace ns, string script, params string[] arguments)
    {
        var start = new ProcessStartInfo("ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in (string[])["netns", "exec", ns.Name, "/usr/bin/python3", "-u", "-c", script, .. arguments])
        {
            start.ArgumentList.Add(argument);
        }
        return new PythonPeer(Process.Start(start)!);
    }
}
