using Ztunnel.Authorization;
using System.Net;
using Ztunnel.Discovery;

namespace Ztunnel.Tests.Discovery;

public sealed class StateStoreTests
{
    [Fact]
    public void Publish_SwapsCurrent_AndRaisesChangedWithOldAndNew()
    {
        var store = new StateStore();
        var first = store.Current;
        var next = new MeshState([new Workload { Uid = "a", Name = "a", Namespace = "ns", Addresses = [IPAddress.Parse("10.0.0.1")] }], [], PolicySet.Empty);
        MeshStateChangedEventArgs? seen = null;
        store.Changed += (_, e) => seen = e;

        store.IsSynced.ShouldBeFalse();
        store.Publish(next);

        store.Current.ShouldBeSameAs(next);
        store.IsSynced.ShouldBeTrue();
        seen.ShouldNotBeNull();
        seen.Previous.ShouldBeSameAs(first);
        seen.Current.ShouldBeSameAs(next);
    }

    [Fact]
    public void FindWorkload_ByIPv4MappedAddress_FindsIPv4Workload()
    {
        var state = new MeshState([new Workload { Uid = "a", Name = "a", Namespace = "ns", Addresses = [IPAddress.Parse("10.0.0.1")] }], [], PolicySet.Empty);

        state.FindWorkload(IPAddress.Parse("::ffff:10.0.0.1"))!.Uid.ShouldBe("a");
        state.FindWorkloadByUid("a")!.Name.ShouldBe("a");
        state.FindWorkload(IPAddress.Parse("10.0.0.2")).ShouldBeNull();
    }
}
