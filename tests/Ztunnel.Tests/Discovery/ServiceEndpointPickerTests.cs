using Ztunnel.Authorization;
using System.Net;
using Ztunnel.Discovery;

namespace Ztunnel.Tests.Discovery;

public sealed class ServiceEndpointPickerTests
{
    private static Workload W(string uid, string ip) => new() { Uid = uid, Name = uid, Namespace = "ns", Addresses = [IPAddress.Parse(ip)] };

    private static (MeshState, Service) State(params ServiceEndpoint[] endpoints)
    {
        var service = new Service
        {
            Name = "svc",
            Namespace = "ns",
            Vips = [IPAddress.Parse("10.96.0.1")],
            Ports = [new ServicePort(80, 8080)],
            Endpoints = endpoints,
        };
        var state = new MeshState([W("a", "10.0.0.1"), W("b", "10.0.0.2"), W("c", "10.0.0.3")], [service], PolicySet.Empty);
        return (state, service);
    }

    [Fact]
    public void Pick_NeverReturnsUnhealthyEndpoint()
    {
        var (state, service) = State(
            new ServiceEndpoint { WorkloadUid = "a", Healthy = false, Weight = 100 },
            new ServiceEndpoint { WorkloadUid = "b" },
            new ServiceEndpoint { WorkloadUid = "c", Healthy = false });
        var picker = new ServiceEndpointPicker(new Random(1));

        for (int i = 0; i < 1000; i++)
        {
            picker.Pick(state, service, 80)!.Workload.Uid.ShouldBe("b");
        }
    }

    [Fact]
    public void Pick_RespectsWeights()
    {
        var (state, service) = State(
            new ServiceEndpoint { WorkloadUid = "a", Weight = 3 },
            new ServiceEndpoint { WorkloadUid = "b", Weight = 1 },
            new ServiceEndpoint { WorkloadUid = "c", Weight = 0 });
        var picker = new ServiceEndpointPicker(new Random(42));
        var counts = new Dictionary<string, int> { ["a"] = 0, ["b"] = 0, ["c"] = 0 };

        for (int i = 0; i < 10_000; i++)
        {
            counts[picker.Pick(state, service, 80)!.Workload.Uid]++;
        }

        // Expected 7500 / 2500; the seed is fixed, the bounds are several standard deviations wide.
        counts["a"].ShouldBeInRange(7200, 7800);
        counts["b"].ShouldBeInRange(2200, 2800);
        counts["c"].ShouldBe(0);
    }

    [Fact]
    public void Pick_MapsServicePortToTargetPort_AndUsesEndpointAddress()
    {
        var (state, service) = State(new ServiceEndpoint { WorkloadUid = "a" });

        var picked = new ServiceEndpointPicker(new Random(1)).Pick(state, service, 80)!;

        picked.Target.ShouldBe(IPEndPoint.Parse("10.0.0.1:8080"));
    }

    [Fact]
    public void Pick_NoHealthyEndpoint_ReturnsNull()
    {
        var (state, service) = State(new ServiceEndpoint { WorkloadUid = "a", Healthy = false }, new ServiceEndpoint { WorkloadUid = "ghost" });

        new ServiceEndpointPicker(new Random(1)).Pick(state, service, 80).ShouldBeNull();
    }

    [Fact]
    public void Pick_PortTheServiceDoesNotExpose_ReturnsNull()
    {
        var (state, service) = State(new ServiceEndpoint { WorkloadUid = "a" });

        new ServiceEndpointPicker(new Random(1)).Pick(state, service, 443).ShouldBeNull();
    }
}
