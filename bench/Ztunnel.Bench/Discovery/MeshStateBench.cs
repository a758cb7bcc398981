using System.Net;
using BenchmarkDotNet.Attributes;
using Ztunnel.Authorization;
using Ztunnel.Discovery;

namespace Ztunnel.Bench.Discovery;

/// <summary>
/// The per-connection state work of the outbound path in a 10,000-workload, 1,000-service mesh:
/// look up the original destination (a VIP), pick a weighted healthy endpoint, look up a workload by IP.
/// </summary>
[MemoryDiagnoser]
public class MeshStateBench
{
    private MeshState _state = MeshState.Empty;
    private ServiceEndpointPicker _picker = new();
    private IPAddress _vip = IPAddress.Any;
    private IPAddress _podIp = IPAddress.Any;

    [GlobalSetup]
    public void Setup()
    {
        var workloads = new List<Workload>();
        for (int i = 0; i < 10_000; i++)
        {
            workloads.Add(new Workload
            {
                Uid = $"uid-{i}",
                Name = $"pod-{i}",
                Namespace = $"ns-{i % 200}",
                Addresses = [new IPAddress([10, 1, (byte)(i >> 8), (byte)i])],
                Node = $"node-{i % 50}",
            });
        }
        var services = new List<Service>();
        for (int s = 0; s < 1_000; s++)
        {
            var endpoints = new List<ServiceEndpoint>();
            for (int e = 0; e < 10; e++)
            {
                endpoints.Add(new ServiceEndpoint { WorkloadUid = $"uid-{(s * 10) + e}", Healthy = e % 3 != 0, Weight = 1 + (e % 2) });
            }
            services.Add(new Service
            {
                Name = $"svc-{s}",
                Namespace = $"ns-{s % 200}",
                Vips = [new IPAddress([10, 96, (byte)(s >> 8), (byte)s])],
                Ports = [new ServicePort(80, 8080)],
                Endpoints = endpoints,
            });
        }
        _state = new MeshState(workloads, services, PolicySet.Empty);
        _picker = new ServiceEndpointPicker(new Random(7));
        _vip = IPAddress.Parse("10.96.2.100");
        _podIp = IPAddress.Parse("10.1.20.15");
    }

    [Benchmark]
    public bool FindWorkloadByIp() => _state.FindWorkload(_podIp) is not null;

    [Benchmark]
    public int FindServiceAndPickEndpoint() =>
        _state.FindService(_vip, 80) is { } hit ? _picker.Pick(_state, hit.Service, 80)!.Target.Port : 0;
}
