using System.Net;
using Ztunnel.Capture;
using Ztunnel.Capture.Registration;

namespace Ztunnel.E2E.Mesh;

/// <summary>
/// A two-node mesh with real daemons, shared by the tests of one class (IClassFixture):
/// <code>
/// node a (10.250.1.0/24, fd00:250:1::/64)          node b (10.250.2.0/24, fd00:250:2::/64)
///   client    10.250.1.10  meshed, sa client        server-b 10.250.2.20  meshed, sa server, app server
///   server-a  10.250.1.20  meshed, sa server        legacy   10.250.2.30  not captured, a TCP workload
///   outsider  10.250.1.30  not captured, unknown
/// services: server 10.250.96.10:80 -> 8080 on server-a and server-b;
///           server-degraded 10.250.96.11:80 -> the same, with server-a unhealthy
/// </code>
/// Every pod is dual stack: 10.250.S.H and fd00:250:S::H, both in its workload entry and registration.
/// One <c>ztunnel run</c> per node in its node netns, with its own config file, the shared built-in CA and
/// its own registration socket in a temp directory; the meshed pods are registered through the
/// registration API as the CNI plugin would. Each server pod runs a <see cref="PodServer"/>.
/// Dispose stops the daemons and deletes every namespace and the temp directory, also after a failure.
/// </summary>
public abstract class MeshFixture : IAsyncLifetime
{
    public const string Namespace = "e2e";
    public const string TrustDomain = "cluster.local";

    public static readonly IPEndPoint ServiceVip = new(IPAddress.Parse("10.250.96.10"), 80);
    public static readonly IPEndPoint DegradedServiceVip = new(IPAddress.Parse("10.250.96.11"), 80);

    private readonly string _prefix;
    private readonly List<PodServer> _apps = [];
    private MeshTopology? _topology;
    private string _policies = "[]";
    private bool _disposed;

    protected MeshFixture(string prefix)
    {
        _prefix = prefix;
    }

    public MeshTopology Topology => _topology ?? throw new InvalidOperationException("the fixture is not initialized");

    /// <summary>Creates the test's sockets inside pod namespaces.</summary>
    internal NetnsRunner Runner { get; } = new();

    /// <summary>Temp directory holding the CA, both nodes' configs, registration sockets and pods.json.</summary>
    public string RunDirectory { get; private set; } = "";

    public MeshPod Client { get; private set; } = null!;
    public MeshPod ServerA { get; private set; } = null!;
    public MeshPod Outsider { get; private set; } = null!;
    public MeshPod ServerB { get; private set; } = null!;
    public MeshPod Legacy { get; private set; } = null!;

    public PodServer AppA { get; private set; } = null!;
    public PodServer AppB { get; private set; } = null!;
    public PodServer AppLegacy { get; private set; } = null!;

    public DaemonProcess DaemonA { get; private set; } = null!;
    public DaemonProcess DaemonB { get; private set; } = null!;

    /// <summary>The client pod's app (captured: its connections go through node a's daemon).</summary>
    public PodClient ClientApp => new(Runner, Client.Netns);

    /// <summary>An app in a pod the mesh does not capture.</summary>
    public PodClient OutsiderApp => new(Runner, Outsider.Netns);

    public IReadOnlyList<MeshPod> MeshedPods => [Client, ServerA, ServerB];

    public DaemonProcess Daemon(char node) => node == 'a' ? DaemonA : DaemonB;

    public string ConfigPath(char node) => Path.Combine(RunDirectory, $"node-{node}", "config.yaml");

    public string RegistrationSocket(char node) => Path.Combine(RunDirectory, $"node-{node}", "cni.sock");

    /// <summary>
    /// The policies in both nodes' config files at start: a YAML list under <c>policies:</c> (flow style
    /// is simplest). Every workload has the labels <c>app</c> (client, server) and <c>pod</c> (its name).
    /// </summary>
    protected virtual string InitialPolicies => "[]";

    public async Task InitializeAsync()
    {
        try
        {
            _topology = await MeshTopology.CreateAsync(_prefix);
            _policies = InitialPolicies;
            RunDirectory = Directory.CreateTempSubdirectory(_topology.Id + "-").FullName;
            Client = await AddPodAsync("client-1", "client", "client", 'a', 10);
            ServerA = await AddPodAsync("server-a-1", "server-a", "server", 'a', 20);
            Outsider = await AddPodAsync("outsider-1", "outsider", "default", 'a', 30);
            ServerB = await AddPodAsync("server-b-1", "server-b", "server", 'b', 20);
            Legacy = await AddPodAsync("legacy-1", "legacy", "default", 'b', 30);

            await ZtunnelBinary.RunAsync("ca", "init", Path.Combine(RunDirectory, "ca"), "--trust-domain", TrustDomain);
            foreach (char node in "ab")
            {
                Directory.CreateDirectory(Path.GetDirectoryName(ConfigPath(node))!);
                await File.WriteAllTextAsync(ConfigPath(node), Config(node, _policies));
            }
            Task<DaemonProcess> startA = DaemonProcess.StartAsync("node-a", Topology.A, ConfigPath('a'));
            Task<DaemonProcess> startB = DaemonProcess.StartAsync("node-b", Topology.B, ConfigPath('b'));
            await Task.WhenAll(startA.ContinueWith(_ => { }, TaskScheduler.Default), startB.ContinueWith(_ => { }, TaskScheduler.Default));
            if (startA.IsCompletedSuccessfully)
            {
                DaemonA = startA.Result;
            }
            if (startB.IsCompletedSuccessfully)
            {
                DaemonB = startB.Result;
            }
            await Task.WhenAll(startA, startB);

            foreach (MeshPod pod in MeshedPods)
            {
                await RegisterAsync(pod);
            }
            AppA = await StartAppAsync(ServerA);
            AppB = await StartAppAsync(ServerB);
            AppLegacy = await StartAppAsync(Legacy);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        foreach (PodServer app in _apps)
        {
            await app.DisposeAsync();
        }
        if (DaemonA is not null)
        {
            await DaemonA.DisposeAsync();
        }
        if (DaemonB is not null)
        {
            await DaemonB.DisposeAsync();
        }
        Runner.Dispose();
        if (_topology is not null)
        {
            await _topology.DisposeAsync();
        }
        if (RunDirectory.Length > 0 && Directory.Exists(RunDirectory))
        {
            Directory.Delete(RunDirectory, recursive: true);
        }
    }

    /// <summary>Scrapes a node daemon's Prometheus metrics.</summary>
    public Task<MetricsScrape> ScrapeAsync(char node) => MetricsScrape.FetchAsync(Runner, Topology.Node(node));

    /// <summary>Registers a pod with its node's daemon through the registration API, as the CNI plugin does.</summary>
    public async Task<PodStatus> RegisterAsync(MeshPod pod)
    {
        using var client = new RegistrationClient(RegistrationSocket(pod.Node));
        return await client.AddAsync(pod.Registration);
    }

    /// <summary>Deletes a pod through the registration API (the CNI DEL); false when the daemon did not know it.</summary>
    public async Task<bool> UnregisterAsync(MeshPod pod)
    {
        using var client = new RegistrationClient(RegistrationSocket(pod.Node));
        return await client.RemoveAsync(pod.Uid);
    }

    /// <summary>
    /// Replaces the policies in both nodes' config files (write a temp file, rename it over the config, as an
    /// editor would) and waits until both daemons logged that they loaded it. Not thread-safe: the tests of
    /// one class run one at a time.
    /// </summary>
    public async Task RewritePoliciesAsync(string policies)
    {
        if (policies == _policies)
        {
            return; // the same content: the daemons would rightly not reload
        }
        _policies = policies;
        int markA = DaemonA.LineCount;
        int markB = DaemonB.LineCount;
        foreach (char node in "ab")
        {
            string temporary = ConfigPath(node) + ".tmp";
            await File.WriteAllTextAsync(temporary, Config(node, policies));
            File.Move(temporary, ConfigPath(node), overwrite: true);
        }
        await DaemonA.WaitForLogAsync("loaded " + ConfigPath('a'), markA);
        await DaemonB.WaitForLogAsync("loaded " + ConfigPath('b'), markB);
    }

    /// <summary>Stops a node's daemon with SIGTERM (returns its exit code) and starts it again with the same config.</summary>
    public async Task<int> RestartDaemonAsync(char node)
    {
        int exitCode = await StopDaemonAsync(node);
        await StartDaemonAsync(node);
        return exitCode;
    }

    /// <summary>SIGTERM to a node's daemon; returns its exit code once it is gone. Its log stays readable.</summary>
    public Task<int> StopDaemonAsync(char node) => Daemon(node).StopAsync();

    /// <summary>Starts a node's daemon (again) with its config (and <c>run</c> options) and waits until it is ready.</summary>
    public async Task StartDaemonAsync(char node, params string[] arguments)
    {
        DaemonProcess old = Daemon(node);
        DaemonProcess started = await DaemonProcess.StartAsync($"node-{node}", Topology.Node(node), ConfigPath(node), arguments);
        if (node == 'a')
        {
            DaemonA = started;
        }
        else
        {
            DaemonB = started;
        }
        await old.DisposeAsync();
    }

    private async Task<MeshPod> AddPodAsync(string uid, string name, string serviceAccount, char node, int host)
    {
        TestNamespace ns = await Topology.AddPodAsync(node, name, host);
        return new MeshPod(uid, name, name == "legacy" ? "legacy" : Namespace, serviceAccount, node, ns);
    }

    private async Task<PodServer> StartAppAsync(MeshPod pod)
    {
        PodServer app = await PodServer.StartAsync(Runner, pod.Netns, pod.Name);
        _apps.Add(app);
        return app;
    }

    private string Config(char node, string policies) => $$"""
        nodeName: node-{{node}}
        trustDomain: {{TrustDomain}}
        caDir: {{Path.Combine(RunDirectory, "ca")}}
        registrationSocket: {{RegistrationSocket(node)}}
        logLevel: debug
        workloads:
          - {{W(Client)}}
          - {{W(ServerA)}}
          - {{W(ServerB)}}
          - {uid: {{Legacy.Uid}}, name: legacy, namespace: legacy, ips: [{{Legacy.Address}}, '{{Legacy.Address6}}'], node: node-b, labels: {app: legacy}, protocol: TCP}
        services:
          - name: server
            namespace: {{Namespace}}
            vips: [{{ServiceVip.Address}}]
            ports: [{port: {{ServiceVip.Port}}, targetPort: {{PodServer.EchoPort}}}]
            endpoints: [{workload: {{ServerA.Uid}}}, {workload: {{ServerB.Uid}}}]
          - name: server-degraded
            namespace: {{Namespace}}
            vips: [{{DegradedServiceVip.Address}}]
            ports: [{port: {{DegradedServiceVip.Port}}, targetPort: {{PodServer.EchoPort}}}]
            endpoints: [{workload: {{ServerA.Uid}}, healthy: false}, {workload: {{ServerB.Uid}}}]
        policies: {{policies}}
        """;

    private static string W(MeshPod pod) =>
        $"{{uid: {pod.Uid}, name: {pod.Name}, namespace: {pod.Namespace}, serviceAccount: {pod.ServiceAccount}, ips: [{pod.Address}, '{pod.Address6}'], node: node-{pod.Node}, labels: {{app: {(pod.Name.StartsWith("server", StringComparison.Ordinal) ? "server" : pod.Name)}, pod: {pod.Name}}}}}";
}
