using Ztunnel.Hbone;

namespace Ztunnel.Tests.Hbone;

public sealed class ReadLoopSchedulerTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task InsideRunInline_TheFirstContinuationRunsInside_TheOneItSchedulesDoesNot()
    {
        var outer = new Probe();
        var nested = new Probe();
        ReadLoopScheduler.RunInline(_ => outer.Schedule(() => nested.Schedule(() => { })), 0);

        (await outer.Ran.WaitAsync(HangGuard)).ShouldBeTrue("the read loop's publish runs its reader inline");
        // A reader woken from inside an inline reader (e.g. a reset under the connection lock) must not
        // run inside the first one.
        (await nested.Ran.WaitAsync(HangGuard)).ShouldBeFalse();
    }

    [Fact]
    public async Task OutsideRunInline_WorkGoesToThePool()
    {
        var probe = new Probe();
        probe.Schedule(() => { });
        (await probe.Ran.WaitAsync(HangGuard)).ShouldBeFalse();
    }

    /// <summary>Wakes work and reports whether it ran synchronously inside the Run call.</summary>
    private sealed class Probe : IThreadPoolWorkItem
    {
        private readonly TaskCompletionSource<bool> _ran = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _schedulingThread;
        private bool _insideSchedule;
        private Action _then = () => { };

        /// <summary>True when the work ran on the scheduling thread before Run returned.</summary>
        public Task<bool> Ran => _ran.Task;

        public void Schedule(Action then)
        {
            _then = then;
            _schedulingThread = Environment.CurrentManagedThreadId;
            Volatile.Write(ref _insideSchedule, true);
            ReadLoopScheduler.Run(this);
            Volatile.Write(ref _insideSchedule, false);
        }

        public void Execute()
        {
            bool inline = Environment.CurrentManagedThreadId == _schedulingThread && Volatile.Read(ref _insideSchedule);
            _then();
            _ran.TrySetResult(inline);
        }
    }
}
