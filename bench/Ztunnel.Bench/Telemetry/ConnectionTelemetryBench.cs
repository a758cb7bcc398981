using System.Buffers;
using System.Net;
using BenchmarkDotNet.Attributes;
using Ztunnel.Authorization;
using Ztunnel.Discovery;
using Ztunnel.Proxy;
using Ztunnel.Telemetry;
using Ztunnel.Tls;

namespace Ztunnel.Bench.Telemetry;

/// <summary>
/// Telemetry's cost per connection (resolve peers, render the Istio label set, find its series, count) and per
/// scrape (fold 10,000 live connections, write the exposition) in a 1,000-workload mesh.
/// </summary>
[MemoryDiagnoser]
public class ConnectionTelemetryBench
{
    private const int Workloads = 1_000;
    private const int LiveConnections = 10_000;

    private readonly StateStore _store = new();
    private readonly ConnectionTracker _tracker = new(TimeProvider.System);
    private readonly ArrayBufferWriter<byte> _output = new(1 << 20);
    private ConnectionTelemetry _telemetry = null!;
    private MetricsRegistry _registry = null!;
    private ConnectionDescription[] _descriptions = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var workloads = new List<Workload>();
        for (int i = 0; i < Workloads; i++)
        {
            workloads.Add(new Workload
            {
                Uid = $"uid-{i}",
                Name = $"app-{i % 100}",
                Namespace = $"ns-{i % 20}",
                ServiceAccount = $"sa-{i % 100}",
                Addresses = [new IPAddress([10, 1, (byte)(i >> 8), (byte)i])],
                Labels = new Dictionary<string, string> { ["app"] = $"app-{i % 100}", ["version"] = "v1" },
            });
        }
        _store.Publish(new MeshState(workloads, [], PolicySet.Empty));
        _telemetry = new ConnectionTelemetry(_store, _tracker, "cluster.local", accessLog: null);
        _registry = new MetricsRegistry();
        _registry.Add(_telemetry);

        // 200 distinct (source, destination) pairs: a realistic series count for one node.
        _descriptions = new ConnectionDescription[200];
        for (int i = 0; i < _descriptions.Length; i++)
        {
            Workload source = workloads[i % 10];
            Workload destination = workloads[100 + (i / 10)];
            _descriptions[i] = new ConnectionDescription(ConnectionDirection.Outbound,
                new IPEndPoint(source.Addresses[0], 40000), new IPEndPoint(destination.Addresses[0], 8080),
                source.GetIdentity("cluster.local"), destination.GetIdentity("cluster.local"), source.Uid, destination.Uid, destination.Namespace);
        }
        for (int i = 0; i < LiveConnections; i++)
        {
            TrackedConnection connection = _tracker.Register(_descriptions[i % _descriptions.Length]);
            _telemetry.Opened(connection);
        }
    }

    /// <summary>One connection's whole telemetry life: opened, bytes relayed, closed (no access log).</summary>
    [Benchmark]
    public void OpenAndClose()
    {
        TrackedConnection connection = _tracker.Register(_descriptions[_next++ % _descriptions.Length]);
        _telemetry.Opened(connection);
        connection.Counters.AddClientToServer(1000);
        _telemetry.Closed(connection, TimeSpan.FromMilliseconds(5));
        connection.Dispose();
    }

    /// <summary>A scrape with 10,000 live connections over 200 series.</summary>
    [Benchmark]
    public int Scrape()
    {
        _output.ResetWrittenCount();
        _registry.WriteTo(_output);
        return _output.WrittenCount;
    }
}
