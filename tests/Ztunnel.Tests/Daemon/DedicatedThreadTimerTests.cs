using Ztunnel.Daemon;

namespace Ztunnel.Tests.Daemon;

public sealed class DedicatedThreadTimerTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    // Disposed whatever a test's assertions did, so no timer thread outlives its test.
    private readonly List<ITimer> _timers = [];

    public void Dispose() => _timers.ForEach(t => t.Dispose());

    private T Track<T>(T timer)
        where T : ITimer
    {
        _timers.Add(timer);
        return timer;
    }

    [Fact]
    public void PeriodicTicks_RunOnTheTimersOwnThread_NotOnThePool()
    {
        var ticks = new CountdownEvent(3); // not disposed: a late callback may still touch it
        var threads = new List<(bool Pool, string? Name)>();
        var timer = (DedicatedThreadTimer)Track(new DedicatedThreadTimeProvider("test ticker").CreateTimer(_ =>
        {
            lock (threads)
            {
                threads.Add((Thread.CurrentThread.IsThreadPoolThread, Thread.CurrentThread.Name));
            }
            if (!ticks.IsSet)
            {
                ticks.Signal();
            }
        }, null, TimeSpan.Zero, TimeSpan.FromMilliseconds(5)));

        ticks.Wait(Patience).ShouldBeTrue("a periodic timer ticks more than once");
        timer.Dispose();
        timer.Thread.Join(Patience).ShouldBeTrue("the timer's thread ends once it is disposed");
        lock (threads)
        {
            threads.ShouldAllBe(t => !t.Pool && t.Name == "test ticker");
        }
    }

    [Fact]
    public void InfiniteDueTime_WaitsForChange_AndAnInfinitePeriodFiresOnce()
    {
        int calls = 0;
        var fired = new ManualResetEventSlim();
        var timer = Track(new DedicatedThreadTimer("test once", _ =>
        {
            Interlocked.Increment(ref calls);
            fired.Set();
        }, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan));

        timer.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan).ShouldBeTrue();
        fired.Wait(Patience).ShouldBeTrue();
        timer.Dispose();
        timer.Thread.Join(Patience).ShouldBeTrue();
        calls.ShouldBe(1);
        timer.Change(TimeSpan.Zero, TimeSpan.Zero).ShouldBeFalse("a disposed timer cannot be restarted");
    }

    [Fact]
    public void ACallbackThatStopsItsOwnTimer_IsNotCalledAgain_UntilTheTimerIsRestarted()
    {
        int calls = 0;
        var first = new ManualResetEventSlim();
        var second = new ManualResetEventSlim();
        var created = new ManualResetEventSlim();
        DedicatedThreadTimer? timer = null;
        timer = Track(new DedicatedThreadTimer("test self-stop", _ =>
        {
            created.Wait(Patience);
            if (Interlocked.Increment(ref calls) == 1)
            {
                // An infinite due time stops the timer whatever the period says.
                timer!.Change(Timeout.InfiniteTimeSpan, TimeSpan.FromMilliseconds(1));
                first.Set();
            }
            else
            {
                second.Set();
            }
        }, null, TimeSpan.Zero, TimeSpan.FromMilliseconds(1)));
        created.Set();

        first.Wait(Patience).ShouldBeTrue();
        SpinWait.SpinUntil(() => timer.CallbacksDone == 1, Patience).ShouldBeTrue();
        timer.IsStopped.ShouldBeTrue("the stop made in the callback stands once the callback has returned");
        timer.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan).ShouldBeTrue();
        second.Wait(Patience).ShouldBeTrue("restarted once");
        timer.Dispose();
        timer.Thread.Join(Patience).ShouldBeTrue();
        calls.ShouldBe(2, "the stop made in the callback held until the restart, and the restart fired once");
    }

    [Fact]
    public void ACallbackMayDisposeItsOwnTimer()
    {
        DedicatedThreadTimer? timer = null;
        var created = new ManualResetEventSlim();
        timer = Track(new DedicatedThreadTimer("test self-dispose", _ =>
        {
            created.Wait(Patience);
            timer!.Dispose();
        }, null, TimeSpan.Zero, TimeSpan.FromMilliseconds(1)));
        created.Set();

        timer.Thread.Join(Patience).ShouldBeTrue();
    }

    [Fact]
    public void NegativeTimesOtherThanInfinite_AreRefused()
    {
        Should.Throw<ArgumentOutOfRangeException>(() =>
            new DedicatedThreadTimer("test bad", _ => { }, null, TimeSpan.FromMilliseconds(-2), Timeout.InfiniteTimeSpan));
        var timer = Track(new DedicatedThreadTimer("test bad period", _ => { }, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan));
        Should.Throw<ArgumentOutOfRangeException>(() => timer.Change(TimeSpan.Zero, TimeSpan.FromMilliseconds(-5)));
    }
}
