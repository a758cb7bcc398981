using System.Buffers;
using Ztunnel.Hbone;

namespace Ztunnel.Tests.Hbone;

/// <summary>
/// The per-stream receive buffer on its own: what the read loop writes and publishes is what the reader gets, in
/// order, and every pool block goes back as soon as nobody needs it (an idle held tunnel keeps none).
/// </summary>
public sealed class StreamReceiveBufferTests
{
    private const int Block = Http2BufferPool.BlockSize;
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public void WritesAcrossBlocks_ReadBackInOrder_AndConsumingAllReturnsEveryBlock()
    {
        var pool = new Http2BufferPool();
        var buffer = new StreamReceiveBuffer(pool);
        byte[] sent = Http2FlowControlTests.Pattern(2 * Block + 12_345);
        // Odd-sized frames, so writes straddle block boundaries.
        for (int offset = 0; offset < sent.Length; offset += 16_383)
        {
            buffer.Write(new ReadOnlySequence<byte>(sent.AsMemory(offset, Math.Min(16_383, sent.Length - offset)))).ShouldBeTrue();
        }
        buffer.Publish();

        buffer.TryRead(out ReadOnlySequence<byte> data).ShouldBeTrue();
        data.ToArray().ShouldBe(sent);
        buffer.BlocksHeld.ShouldBe(3);
        buffer.Consume(data.Length);

        buffer.BlocksHeld.ShouldBe(0);
        pool.FreeCount.ShouldBe(3);
        buffer.TryRead(out _).ShouldBeFalse("nothing left and not ended: the reader must wait");
    }

    [Fact]
    public void LargeDataInAnInputBlock_IsTakenByReference_AndTheBlockReturnsWhenTheStreamIsDone()
    {
        var pool = new Http2BufferPool();
        using var input = new Http2InputBuffer(pool);
        var buffer = new StreamReceiveBuffer(pool);
        byte[] sent = Http2FlowControlTests.Pattern(40_000);
        Receive(input, sent);

        buffer.Write(input.Data).ShouldBeTrue();
        buffer.Publish();
        input.Consume(input.Data.End);
        input.ReleaseIfDrained().ShouldBeTrue();

        pool.Rents.ShouldBe(1, "the stream took the bytes where they were read: no block of its own, no copy");
        pool.FreeCount.ShouldBe(0, "the stream still holds the input block");
        buffer.TryRead(out ReadOnlySequence<byte> data).ShouldBeTrue();
        data.ToArray().ShouldBe(sent);
        buffer.Consume(data.Length);
        pool.FreeCount.ShouldBe(1);
        buffer.BlocksHeld.ShouldBe(0);
    }

    [Fact]
    public void TheInputBuffer_NeverReadsOverBytesAStreamStillHolds()
    {
        var pool = new Http2BufferPool();
        using var input = new Http2InputBuffer(pool);
        var buffer = new StreamReceiveBuffer(pool);
        byte[] first = Http2FlowControlTests.Pattern(StreamReceiveBuffer.LendMinimum);
        Receive(input, first);
        buffer.Write(input.Data).ShouldBeTrue();
        buffer.Publish();
        input.Consume(input.Data.End);

        // Drained: a block nobody else held would start over at its first byte, where the stream's bytes are.
        Receive(input, Enumerable.Repeat((byte)0xEE, Block).ToArray());

        buffer.TryRead(out ReadOnlySequence<byte> data).ShouldBeTrue();
        data.ToArray().ShouldBe(first);
        buffer.Consume(data.Length);
    }

    [Fact]
    public void HostileFrameSizes_NeverKeepMoreThanTwiceTheUnreadBytes_AndEveryByteArrivesInOrder()
    {
        // Tiny DATA parts between parts just long enough to be lent (then at random), nothing read meanwhile: lent
        // parts keep whole input blocks and cut owned blocks short, yet the memory stays within 2x of what the
        // flow-control window lets a peer send, plus a few blocks.
        var pool = new Http2BufferPool();
        using var input = new Http2InputBuffer(pool);
        var buffer = new StreamReceiveBuffer(pool);
        var random = new Random(23);
        var sent = new MemoryStream();
        for (int i = 0; i < 300; i++)
        {
            int size = i switch
            {
                < 100 => i % 2 == 0 ? 1 : StreamReceiveBuffer.LendMinimum,
                < 200 => 100,
                _ => random.Next(3) == 0 ? random.Next(1, 100) : random.Next(StreamReceiveBuffer.LendMinimum, Block - 9),
            };
            byte[] part = new byte[size];
            random.NextBytes(part);
            sent.Write(part);
            Receive(input, part);
            buffer.Write(input.Data).ShouldBeTrue();
            input.Consume(input.Data.End);
            input.ReleaseIfDrained(); // every part in a block of its own: the worst case for what a lent part keeps
            // The bound a lend keeps, and the block a copy after it may have started.
            ((long)buffer.BlocksHeld * Block).ShouldBeLessThanOrEqualTo(2 * sent.Length + (StreamReceiveBuffer.LendSlackBlocks + 1) * Block, $"after part {i}");
        }
        buffer.Publish();

        buffer.TryRead(out ReadOnlySequence<byte> data).ShouldBeTrue();
        data.ToArray().ShouldBe(sent.ToArray());
        buffer.Consume(data.Length);
        buffer.BlocksHeld.ShouldBe(0);
    }

    /// <summary>Bytes arriving in the connection's input buffer, as the read loop's transport read puts them there.</summary>
    private static void Receive(Http2InputBuffer input, byte[] bytes)
    {
        for (int offset = 0; offset < bytes.Length;)
        {
            Memory<byte> room = input.GetReadMemory();
            int n = Math.Min(room.Length, bytes.Length - offset);
            bytes.AsMemory(offset, n).CopyTo(room);
            input.Advance(n);
            offset += n;
        }
    }

    [Fact]
    public void AnIdleBuffer_Costs96Bytes_AndHoldsNoBlock_AfterItsDataWasRead()
    {
        // Held idle tunnels are the daemon's per-connection floor (two streams per proxied connection); the pipe
        // this replaced held ~500 B per stream for its whole life.
        var pool = new Http2BufferPool();
        long before = GC.GetAllocatedBytesForCurrentThread();
        var buffer = new StreamReceiveBuffer(pool);
        (GC.GetAllocatedBytesForCurrentThread() - before).ShouldBeLessThanOrEqualTo(96);

        buffer.Write(new ReadOnlySequence<byte>(new byte[Block + 1]));
        buffer.Publish();
        buffer.TryRead(out ReadOnlySequence<byte> data).ShouldBeTrue();
        buffer.Consume(data.Length);

        buffer.BlocksHeld.ShouldBe(0);
        pool.FreeCount.ShouldBe(2);
    }

    [Fact]
    public void UnpublishedBytes_AreNotTheReaders()
    {
        var buffer = new StreamReceiveBuffer(new Http2BufferPool());
        buffer.Write(Bytes("hello"));

        buffer.TryRead(out _).ShouldBeFalse();
        buffer.WaitAsync().AsTask().IsCompleted.ShouldBeFalse();
    }

    [Fact]
    public void PartialConsume_KeepsTheRest_AndReturnsOnlyWhollyConsumedBlocks()
    {
        var pool = new Http2BufferPool();
        var buffer = new StreamReceiveBuffer(pool);
        byte[] sent = Http2FlowControlTests.Pattern(2 * Block + Block / 2);
        buffer.Write(new ReadOnlySequence<byte>(sent));
        buffer.Publish();

        buffer.TryRead(out ReadOnlySequence<byte> first).ShouldBeTrue();
        first.Length.ShouldBe(sent.Length);
        buffer.Consume(Block + Block / 2);
        pool.FreeCount.ShouldBe(1);
        buffer.BlocksHeld.ShouldBe(2);

        buffer.TryRead(out ReadOnlySequence<byte> rest).ShouldBeTrue();
        rest.ToArray().ShouldBe(sent[(Block + Block / 2)..]);
        buffer.Consume(0);
        buffer.TryRead(out rest).ShouldBeTrue("consuming nothing leaves everything for the next read");
        rest.Length.ShouldBe(Block);
        buffer.Consume(rest.Length);
        pool.FreeCount.ShouldBe(3);
        // No look at `first` or `rest` from here on: their segments went back to the process-wide free list,
        // and a test running beside this one may already have them (that made this test flaky once).
    }

    [Fact]
    public void AfterGoingIdle_NewBytesFollowTheOldOnes_InAFreshBlock()
    {
        var pool = new Http2BufferPool();
        var buffer = new StreamReceiveBuffer(pool);
        buffer.Write(Bytes("first"));
        buffer.Publish();
        buffer.TryRead(out ReadOnlySequence<byte> data).ShouldBeTrue();
        buffer.Consume(data.Length);
        buffer.BlocksHeld.ShouldBe(0);

        buffer.Write(Bytes("second"));
        buffer.Publish();

        buffer.TryRead(out data).ShouldBeTrue();
        data.ToArray().ShouldBe("second"u8.ToArray());
        buffer.Consume(3);
        buffer.TryRead(out data).ShouldBeTrue();
        data.ToArray().ShouldBe("ond"u8.ToArray());
        buffer.Consume(3);
        pool.Rents.ShouldBe(2);
        pool.FreeCount.ShouldBe(1);
    }

    [Fact]
    public async Task AWaitingReader_IsWokenByPublish_AndTheWaitConsumesNothing()
    {
        var buffer = new StreamReceiveBuffer(new Http2BufferPool());
        ValueTask wait = buffer.WaitAsync();
        wait.IsCompleted.ShouldBeFalse();

        await Task.Run(() =>
        {
            buffer.Write(Bytes("wake up"));
            buffer.Publish();
        });
        await wait.AsTask().WaitAsync(Guard);

        buffer.WaitAsync().AsTask().IsCompleted.ShouldBeTrue("data is there: a wait completes at once");
        buffer.TryRead(out ReadOnlySequence<byte> data).ShouldBeTrue();
        data.ToArray().ShouldBe("wake up"u8.ToArray());
        buffer.Consume(data.Length);
    }

    [Fact]
    public async Task End_DeliversTheRemainingBytesFirst_ThenAnEmptyRead()
    {
        var buffer = new StreamReceiveBuffer(new Http2BufferPool());
        buffer.Write(Bytes("tail"));
        buffer.Complete(null);

        buffer.Write(Bytes("late")).ShouldBeFalse("nothing is accepted after the end");
        buffer.TryRead(out ReadOnlySequence<byte> data).ShouldBeTrue();
        data.ToArray().ShouldBe("tail"u8.ToArray());
        buffer.Consume(data.Length);
        buffer.TryRead(out data).ShouldBeTrue();
        data.IsEmpty.ShouldBeTrue();
        await buffer.WaitAsync().AsTask().WaitAsync(Guard);
    }

    [Fact]
    public async Task AWaitingReader_IsWokenByTheEnd()
    {
        var buffer = new StreamReceiveBuffer(new Http2BufferPool());
        ValueTask wait = buffer.WaitAsync();

        buffer.Complete(null);

        await wait.AsTask().WaitAsync(Guard);
        buffer.TryRead(out ReadOnlySequence<byte> data).ShouldBeTrue();
        data.IsEmpty.ShouldBeTrue();
    }

    [Fact]
    public async Task Failure_WakesTheReader_AndEveryReadThrowsThatException()
    {
        var pool = new Http2BufferPool();
        var buffer = new StreamReceiveBuffer(pool);
        buffer.Write(Bytes("unread"));
        buffer.Publish();
        buffer.TryRead(out ReadOnlySequence<byte> data).ShouldBeTrue();
        buffer.Consume(data.Length);
        ValueTask wait = buffer.WaitAsync();
        var reset = new IOException("HBONE stream 1 was reset by the peer (RST_STREAM CANCEL)");

        buffer.Complete(reset);

        await wait.AsTask().WaitAsync(Guard);
        Should.Throw<IOException>(() => buffer.TryRead(out _)).ShouldBeSameAs(reset);
        Should.Throw<IOException>(() => buffer.TryRead(out _)).ShouldBeSameAs(reset);
    }

    [Fact]
    public void Failure_DropsUnreadBytes_AndReturnsTheirBlocks_OnceTheReaderIsDone()
    {
        var pool = new Http2BufferPool();
        var buffer = new StreamReceiveBuffer(pool);
        buffer.Write(new ReadOnlySequence<byte>(new byte[Block + 1]));
        buffer.Publish();
        buffer.TryRead(out _).ShouldBeTrue();

        buffer.Complete(new IOException("reset"));
        pool.FreeCount.ShouldBe(0, "the reader still holds them");
        buffer.Consume(0);

        pool.FreeCount.ShouldBe(2);
        buffer.Write(new ReadOnlySequence<byte>(new byte[10])).ShouldBeFalse();
        pool.Rents.ShouldBe(2);
    }

    [Fact]
    public void Dispose_ReturnsUnreadBlocksToThePool()
    {
        var pool = new Http2BufferPool();
        var buffer = new StreamReceiveBuffer(pool);
        buffer.Write(new ReadOnlySequence<byte>(new byte[Block + 1]));
        buffer.Publish();

        buffer.Dispose();

        pool.FreeCount.ShouldBe(2);
        buffer.BlocksHeld.ShouldBe(0);
        buffer.Write(Bytes("after")).ShouldBeFalse();
        pool.Rents.ShouldBe(2);
    }

    [Fact]
    public void Dispose_WhileTheReaderHoldsBytes_ReturnsTheBlocksOnlyWhenItIsDone()
    {
        var pool = new Http2BufferPool();
        var buffer = new StreamReceiveBuffer(pool);
        byte[] sent = Http2FlowControlTests.Pattern(Block + 100);
        buffer.Write(new ReadOnlySequence<byte>(sent));
        buffer.Publish();
        buffer.TryRead(out ReadOnlySequence<byte> data).ShouldBeTrue();

        buffer.Dispose();

        pool.FreeCount.ShouldBe(0, "the reader still reads these blocks (e.g. sending them to a socket)");
        data.ToArray().ShouldBe(sent);
        buffer.Consume(10);
        pool.FreeCount.ShouldBe(2);
    }

    [Fact]
    public async Task PublishInsideRunInline_RunsTheReaderOnThePublishingThread_BeforePublishReturns()
    {
        var buffer = new StreamReceiveBuffer(new Http2BufferPool());
        var probe = new WakeProbe(buffer);
        buffer.Write(Bytes("x"));

        await Task.Run(() => ReadLoopScheduler.RunInline(static p => p.Publish(), probe));

        (await probe.Ran.WaitAsync(Guard)).ShouldBeTrue("the read loop runs a small reader itself (no hand-off)");
    }

    [Fact]
    public async Task PublishOutsideRunInline_WakesTheReaderOnThePool()
    {
        var buffer = new StreamReceiveBuffer(new Http2BufferPool());
        var probe = new WakeProbe(buffer);
        buffer.Write(Bytes("x"));

        await Task.Run(probe.Publish);

        (await probe.Ran.WaitAsync(Guard)).ShouldBeFalse();
    }

    [Fact]
    public async Task CompleteInsideAnInlineReader_WakesTheNextReaderOnThePool()
    {
        // A reader run inline that resets another stream (Complete under the connection lock) must not run
        // that stream's reader inside itself.
        var other = new StreamReceiveBuffer(new Http2BufferPool());
        var otherProbe = new WakeProbe(other);
        var buffer = new StreamReceiveBuffer(new Http2BufferPool());
        var first = new WakeProbe(buffer, then: () => otherProbe.Complete());
        buffer.Write(Bytes("x"));

        await Task.Run(() => ReadLoopScheduler.RunInline(static p => p.Publish(), first));

        (await first.Ran.WaitAsync(Guard)).ShouldBeTrue();
        (await otherProbe.Ran.WaitAsync(Guard)).ShouldBeFalse();
    }

    [Fact]
    public async Task AnEndAtNextPublish_WakesTheReaderOnlyAtThePublish_InlineOnTheReadLoop()
    {
        // END_STREAM is recorded under the connection lock; the reader runs when the batch is published, on the
        // read loop (no pool hand-off to close a relayed connection), and gets the remaining bytes, then the end.
        var buffer = new StreamReceiveBuffer(new Http2BufferPool());
        var probe = new WakeProbe(buffer);
        buffer.Write(Bytes("last"));

        buffer.CompleteAtNextPublish();
        probe.Ran.IsCompleted.ShouldBeFalse("the end waits for the publish");
        await Task.Run(() => ReadLoopScheduler.RunInline(static p => p.Publish(), probe));

        (await probe.Ran.WaitAsync(Guard)).ShouldBeTrue("the reader runs on the publishing read loop");
        buffer.TryRead(out ReadOnlySequence<byte> data).ShouldBeTrue();
        data.Length.ShouldBe(4);
        buffer.Consume(4);
        buffer.TryRead(out data).ShouldBeTrue();
        data.IsEmpty.ShouldBeTrue("then the end");
    }

    [Fact]
    public async Task AFailureOrDispose_AfterAnEndAtNextPublish_WakesTheReaderAtOnce()
    {
        // The connection broke before the batch was published: nobody may sleep on the deferred wake-up.
        var failed = new StreamReceiveBuffer(new Http2BufferPool());
        ValueTask failedWait = failed.WaitAsync();
        failed.CompleteAtNextPublish();
        failed.Complete(new IOException("HBONE connection lost"));
        await failedWait.AsTask().WaitAsync(Guard);
        failed.TryRead(out ReadOnlySequence<byte> data).ShouldBeTrue("the clean end came first and stands");
        data.IsEmpty.ShouldBeTrue();

        var disposed = new StreamReceiveBuffer(new Http2BufferPool());
        ValueTask disposedWait = disposed.WaitAsync();
        disposed.CompleteAtNextPublish();
        disposed.Dispose();
        await disposedWait.AsTask().WaitAsync(Guard);
    }

    [Fact]
    public async Task CancelWait_EndsTheWait_WithoutData()
    {
        var buffer = new StreamReceiveBuffer(new Http2BufferPool());
        ValueTask wait = buffer.WaitAsync();

        buffer.CancelWait();

        await wait.AsTask().WaitAsync(Guard);
        buffer.TryRead(out _).ShouldBeFalse();
        buffer.WaitAsync().AsTask().IsCompleted.ShouldBeFalse("the next wait waits again");
    }

    [Fact]
    public void WaitingAndWaking_AllocatesNothing()
    {
        var buffer = new StreamReceiveBuffer(new Http2BufferPool());
        ReadOnlySequence<byte> chunk = Bytes("chunk");
        RoundTrip(buffer, chunk); // first use: the segment and the pool's first block
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            RoundTrip(buffer, chunk);
        }
        // The pool's free-list queue grows a segment now and then; a waiter box per wait would be >= 24 KB.
        (GC.GetAllocatedBytesForCurrentThread() - before).ShouldBeLessThan(4096);

        static void RoundTrip(StreamReceiveBuffer buffer, ReadOnlySequence<byte> chunk)
        {
            ValueTask wait = buffer.WaitAsync();
            buffer.Write(chunk);
            buffer.Publish();
            wait.IsCompleted.ShouldBeTrue();
            wait.GetAwaiter().GetResult();
            buffer.TryRead(out ReadOnlySequence<byte> data).ShouldBeTrue();
            buffer.Consume(data.Length);
        }
    }

    private static ReadOnlySequence<byte> Bytes(string text) => new(System.Text.Encoding.ASCII.GetBytes(text));

    /// <summary>An awaiting reader that reports whether it ran synchronously inside the publishing call.</summary>
    private sealed class WakeProbe
    {
        private readonly StreamReceiveBuffer _buffer;
        private readonly TaskCompletionSource<bool> _ran = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _publisherThread;
        private bool _insidePublish;

        public WakeProbe(StreamReceiveBuffer buffer, Action? then = null)
        {
            _buffer = buffer;
            _ = WaitAsync(then);
        }

        /// <summary>True when the reader ran on the publishing thread before Publish returned.</summary>
        public Task<bool> Ran => _ran.Task;

        public void Publish() => Signal(_buffer.Publish);

        public void Complete() => Signal(() => _buffer.Complete(null));

        private void Signal(Action signal)
        {
            _publisherThread = Environment.CurrentManagedThreadId;
            Volatile.Write(ref _insidePublish, true);
            signal();
            Volatile.Write(ref _insidePublish, false);
        }

        private async Task WaitAsync(Action? then)
        {
            await _buffer.WaitAsync();
            bool inline = Environment.CurrentManagedThreadId == _publisherThread && Volatile.Read(ref _insidePublish);
            then?.Invoke();
            _ran.TrySetResult(inline);
        }
    }
}
