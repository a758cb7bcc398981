using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Ztunnel.Capture;
using Ztunnel.Capture.Registration;
using Ztunnel.E2E.Mesh;

namespace Ztunnel.E2E.Telemetry;

/// <summary>
/// The real daemon (its own process, in a node netns) capturing two real pods, scraped by a real Prometheus
/// server; the test asks Prometheus, through its HTTP API, what it saw: a dashboard's view of the node.
/// </summary>
public sealed class DaemonPrometheusTests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private const string Namespace = "shop";

    private readonly NetnsRunner _runner = new();
    private readonly List<Socket> _sockets = [];
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "telemetry-" + Guid.NewGuid().ToString("N")[..10]);
    private TestTopology? _topology;
    private NetnsProcess? _daemon;
    private NetnsProcess? _prometheus;
    private HttpClient? _prometheusApi;
    private HttpClient? _admin;

    private TestNamespace Node => _topology!.Node;
    private TestNamespace Client => _topology!.Pods[0];
    private TestNamespace Server => _topology!.Pods[1];

    public async Task InitializeAsync()
    {
        try
        {
            Directory.CreateDirectory(_directory);
            _topology = await TestTopology.CreateAsync("telemetry", pods: 2, subnet: 77);
            await StartDaemonAsync();
            await StartPrometheusAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        foreach (Socket socket in _sockets)
        {
            socket.Dispose();
        }
        _prometheusApi?.Dispose();
        _admin?.Dispose();
        if (_prometheus is not null)
        {
            await _prometheus.DisposeAsync();
        }
        if (_daemon is not null)
        {
            await _daemon.DisposeAsync();
        }
        _topology?.Dispose();
        _runner.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Prometheus_SeesMeshTraffic_WhileItFlows_AndAfterItCloses()
    {
        await StartEchoServerAsync();

        // A short connection, closed, and a long one that stays open.
        using (Socket shortLived = await ConnectFromClientAsync())
        {
            (await EchoAsync(shortLived, "ping")).ShouldBe("ping");
            shortLived.Shutdown(SocketShutdown.Both);
        }
        Socket longLived = await ConnectFromClientAsync();
        string payload = new('x', 50_000);
        (await EchoAsync(longLived, payload)).ShouldBe(payload);

        const string source = "reporter=\"source\",source_workload=\"client\",destination_workload=\"server\"";
        double opened = await QueryUntilAsync($"sum(istio_tcp_connections_opened_total{{{source},connection_security_policy=\"mutual_tls\",source_principal=\"spiffe://cluster.local/ns/{Namespace}/sa/client\"}})", v => v >= 2);
        opened.ShouldBe(2);
        // The long connection is still open, yet its bytes are already on the dashboard.
        double requestBytes = await QueryUntilAsync($"sum(istio_tcp_received_bytes_total{{{source}}})", v => v >= 4 + 50_000);
        requestBytes.ShouldBe(4 + 50_000);
        double inbound = await QueryUntilAsync($"sum(istio_tcp_connections_opened_total{{reporter=\"destination\",destination_workload=\"server\",source_principal=\"spiffe://cluster.local/ns/{Namespace}/sa/client\"}})", v => v >= 2);
        inbound.ShouldBe(2);
        (await QueryUntilAsync($"sum(istio_tcp_connections_closed_total{{{source}}})", v => v >= 1)).ShouldBe(1);
        (await QueryUntilAsync("sum(ztunnel_pods{state=\"ready\"})", v => v >= 2)).ShouldBe(2);
        (await QueryUntilAsync("istio_build{component=\"ztunnel\"}", v => v >= 1)).ShouldBe(1);

        longLived.Shutdown(SocketShutdown.Both);
        longLived.Dispose();
        (await QueryUntilAsync($"sum(istio_tcp_connections_closed_total{{{source}}})", v => v >= 2)).ShouldBe(2);

        // One access log line per closed connection, with the peers' workloads and identities.
        string line = await _daemon!.WaitForLineAsync(l => l.Contains("connection complete", StringComparison.Ordinal) && l.Contains("\"Direction\":\"inbound\"", StringComparison.Ordinal), Guard);
        using JsonDocument log = JsonDocument.Parse(line);
        JsonElement p = log.RootElement.GetProperty("Properties");
        p.GetProperty("SrcWorkload").GetString().ShouldBe("client");
        p.GetProperty("DstWorkload").GetString().ShouldBe("server");
        p.GetProperty("SrcIdentity").GetString().ShouldBe($"spiffe://cluster.local/ns/{Namespace}/sa/client");

        // Admin /quitquitquit drains and stops the daemon like SIGTERM.
        using HttpResponseMessage quit = await _admin!.PostAsync("/quitquitquit", null);
        quit.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await _daemon.WaitForExitAsync(Guard)).ShouldBe(0);
    }

    private async Task StartDaemonAsync()
    {
        string ca = Path.Combine(_directory, "ca");
        await ZtunnelBinary.RunAsync("ca", "init", ca);
        string socket = Path.Combine(_directory, "cni.sock");
        string config = Path.Combine(_directory, "ztunnel.yaml");
        await File.WriteAllTextAsync(config, $$$"""
            nodeName: node-1
            caDir: {{{ca}}}
            registrationSocket: {{{socket}}}
            adminAddress: 127.0.0.1:15000
            metricsAddress: 127.0.0.1:15020
            readinessAddress: 127.0.0.1:15021
            accessLog: json
            workloads:
              - {uid: client-1, name: client, namespace: {{{Namespace}}}, serviceAccount: client, ips: [{{{Client.Address}}}], node: node-1, labels: {app: client, version: v1}}
              - {uid: server-1, name: server, namespace: {{{Namespace}}}, serviceAccount: server, ips: [{{{Server.Address}}}], node: node-1, labels: {app: server}}
            """);
        _daemon = NetnsProcess.Start(Node, ZtunnelBinary.Path, "run", "--config", config);
        await _daemon.WaitForLineAsync(l => l.Contains("ztunnel ready", StringComparison.Ordinal), Guard);
        _admin = NetnsHttp.Create(_runner, Node, new Uri("http://127.0.0.1:15000"));

        using var registration = new RegistrationClient(socket);
        foreach ((TestNamespace pod, string uid, string name) in new[] { (Client, "client-1", "client"), (Server, "server-1", "server") })
        {
            PodStatus status = await registration.AddAsync(new PodRegistration
            {
                Uid = uid,
                Name = name,
                Namespace = Namespace,
                Netns = pod.Path,
                Ips = [pod.Address.ToString()],
            });
            status.State.ShouldBe(PodState.Ready, status.Error);
        }
        using HttpClient readiness = NetnsHttp.Create(_runner, Node, new Uri("http://127.0.0.1:15021"));
        using HttpResponseMessage ready = await readiness.GetAsync("/healthz/ready");
        ready.StatusCode.ShouldBe(HttpStatusCode.OK, await ready.Content.ReadAsStringAsync());
    }

    private async Task StartPrometheusAsync()
    {
        string config = Path.Combine(_directory, "prometheus.yml");
        await File.WriteAllTextAsync(config, """
            global: {scrape_interval: 1s, evaluation_interval: 1s}
            scrape_configs:
              - job_name: ztunnel
                metrics_path: /stats/prometheus
                static_configs: [{targets: ["127.0.0.1:15020"]}]
            """);
        _prometheus = NetnsProcess.Start(Node, "prometheus", $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(_directory, "tsdb")}",
            "--web.listen-address=127.0.0.1:9090");
        await _prometheus.WaitForLineAsync(l => l.Contains("Server is ready to receive web requests", StringComparison.Ordinal), Guard);
        _prometheusApi = NetnsHttp.Create(_runner, Node, new Uri("http://127.0.0.1:9090"));
    }

    /// <summary>
    /// Asks Prometheus until the instant query's single value satisfies <paramref name="done"/>, then returns it.
    /// Prometheus only learns of new samples at its next scrape (every second), so this polls; the guard bounds it.
    /// </summary>
    private async Task<double> QueryUntilAsync(string query, Func<double, bool> done)
    {
        using var guard = new CancellationTokenSource(Guard);
        string last = "";
        while (true)
        {
            using HttpResponseMessage response = await _prometheusApi!.GetAsync("/api/v1/query?query=" + Uri.EscapeDataString(query), guard.Token);
            last = await response.Content.ReadAsStringAsync(guard.Token);
            using JsonDocument json = JsonDocument.Parse(last);
            JsonElement result = json.RootElement.GetProperty("data").GetProperty("result");
            if (result.GetArrayLength() == 1)
            {
                double value = double.Parse(result[0].GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture);
                if (done(value))
                {
                    return value;
                }
            }
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), guard.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Prometheus never answered `{query}` as expected; last answer: {last}\ndaemon output:\n{_daemon?.Output}");
            }
        }
    }

    private async Task StartEchoServerAsync()
    {
        Socket listener = await _runner.RunAsync(Server.Path, () =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Any, 8080));
            socket.Listen();
            return socket;
        });
        _sockets.Add(listener);
        _ = Task.Run(async () =>
        {
            while (true)
            {
                Socket accepted;
                try
                {
                    accepted = await listener.AcceptAsync();
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    return;
                }
                _ = EchoUntilClosedAsync(accepted);
            }
        });
    }

    private static async Task EchoUntilClosedAsync(Socket socket)
    {
        using (socket)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                int read;
                while ((read = await socket.ReceiveAsync(buffer)) > 0)
                {
                    await socket.SendAsync(buffer.AsMemory(0, read));
                }
                socket.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
            }
        }
    }

    // Created in the client pod's netns, so the pod's capture rules send it through the daemon.
    private async Task<Socket> ConnectFromClientAsync()
    {
        Socket socket = await _runner.RunAsync(Client.Path, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        _sockets.Add(socket);
        await socket.ConnectAsync(new IPEndPoint(Server.Address, 8080)).WaitAsync(Guard);
        return socket;
    }

    private static async Task<string> EchoAsync(Socket socket, string text)
    {
        byte[] sent = Encoding.ASCII.GetBytes(text);
        await socket.SendAsync(sent);
        var received = new byte[sent.Length];
        int total = 0;
        while (total < received.Length)
        {
            int read = await socket.ReceiveAsync(received.AsMemory(total)).AsTask().WaitAsync(Guard);
            if (read == 0)
            {
                break;
            }
            total += read;
        }
        return Encoding.ASCII.GetString(received, 0, total);
    }
}
