using System.Buffers;
using Ztunnel.Hbone;

namespace Ztunnel.Tests.Hbone;

/// <summary>
/// The read loop's input buffer on its own: frames come out whole and in order however the reads cut them, a read
/// always gets room, and blocks go back to the pool as soon as the frames in them are parsed.
/// </summary>
public sealed class Http2InputBufferTests
{
    private const int Block = Http2BufferPool.BlockSize;

    [Fact]
    public void SmallMessages_ReuseOneBlock_FromItsFirstByte_WithoutAllocating()
    {
        // Every read is parsed whole and the block is kept (the read loop gives it back between messages instead,
        // see the ReleaseIfDrained test; the discard loop after a connection error keeps it).
        var pool = new Http2BufferPool();
        using var input = new Http2InputBuffer(pool);
        byte[] message = Frame(Http2FrameType.Data, 100, seed: 1);
        RoundTrip(input, message);
        long before = GC.GetAllocatedBytesForCurrentThread();

        for (int i = 0; i < 1000; i++)
        {
            RoundTrip(input, message);
        }

        (GC.GetAllocatedBytesForCurrentThread() - before).ShouldBe(0);
        pool.Rents.ShouldBe(1);
        input.BlocksHeld.ShouldBe(1);
        input.GetReadMemory().Length.ShouldBe(Block, "a drained buffer starts its block over");
    }

    [Fact]
    public void FramesCutAnywhereByReads_ComeOutWholeAndInOrder_AcrossBlocks()
    {
        var pool = new Http2BufferPool();
        using var input = new Http2InputBuffer(pool);
        // A 1 MiB frame (the largest we accept, 17 blocks) between frames whose ends fall at odd places in the reads.
        byte[][] frames =
        [
            Frame(Http2FrameType.Data, 16_384, seed: 1),
            Frame(Http2FrameType.Data, HboneDefaults.MaxFrameSize, seed: 2),
            Frame(Http2FrameType.Ping, 8, seed: 3),
            Frame(Http2FrameType.Data, 40_000, seed: 4),
        ];
        byte[] wire = frames.SelectMany(f => f).ToArray();
        var parsed = new List<byte[]>();
        int maxBlocks = 0;

        for (int sent = 0; sent < wire.Length;)
        {
            Memory<byte> room = input.GetReadMemory();
            room.Length.ShouldBeGreaterThanOrEqualTo(Http2InputBuffer.MinimumReadSize);
            int n = Math.Min(Math.Min(room.Length, 7_777), wire.Length - sent);
            wire.AsSpan(sent, n).CopyTo(room.Span);
            sent += n;
            input.Advance(n);
            ReadOnlySequence<byte> data = input.Data;
            while (Http2FrameReader.TryReadFrame(ref data, HboneDefaults.MaxFrameSize, out var header, out var payload))
            {
                byte[] frame = new byte[Http2FrameHeader.Size + header.PayloadLength];
                header.Write(frame);
                payload.CopyTo(frame.AsSpan(Http2FrameHeader.Size));
                parsed.Add(frame);
            }
            maxBlocks = Math.Max(maxBlocks, input.BlocksHeld);
            input.Consume(data.Start);
        }

        parsed.Count.ShouldBe(frames.Length);
        for (int i = 0; i < frames.Length; i++)
        {
            parsed[i].ShouldBe(frames[i], $"frame {i}");
        }
        // Only the frame in progress is buffered, and every block but the last holds at least Block - MinimumReadSize of it.
        maxBlocks.ShouldBeLessThanOrEqualTo((HboneDefaults.MaxFrameSize + Http2FrameHeader.Size) / (Block - Http2InputBuffer.MinimumReadSize) + 2);
        input.Data.IsEmpty.ShouldBeTrue();
        input.BlocksHeld.ShouldBe(1, "parsed blocks go back at once; one is kept for the next read");
    }

    [Fact]
    public void ARemainderTooCloseToTheBlockEnd_GoesOnInANewBlock_WithoutMovingIt()
    {
        var pool = new Http2BufferPool();
        using var input = new Http2InputBuffer(pool);
        byte[] frame = Frame(Http2FrameType.Data, 16_384, seed: 5);
        // The first read fills the block to 4 KiB short of its end: an ignored frame (unknown type), then the first
        // 100 bytes of the DATA frame.
        int fill = Block - 4096;
        byte[] filler = Frame((Http2FrameType)0xEE, fill - 100 - Http2FrameHeader.Size, seed: 6);
        Span<byte> first = input.GetReadMemory().Span;
        filler.CopyTo(first);
        frame.AsSpan(0, 100).CopyTo(first[filler.Length..]);
        input.Advance(fill);
        ReadOnlySequence<byte> data = input.Data;
        Http2FrameReader.TryReadFrame(ref data, HboneDefaults.MaxFrameSize, out _, out _).ShouldBeTrue();
        Http2FrameReader.TryReadFrame(ref data, HboneDefaults.MaxFrameSize, out _, out _).ShouldBeFalse();
        input.Consume(data.Start);

        Memory<byte> room = input.GetReadMemory();

        input.BlocksHeld.ShouldBe(2);
        room.Length.ShouldBe(Block);
        frame.AsSpan(100).CopyTo(room.Span);
        input.Advance(frame.Length - 100);
        data = input.Data;
        data.IsSingleSegment.ShouldBeFalse("the remainder stays where it was read");
        data.ToArray().ShouldBe(frame);
        input.Consume(data.End);
        input.BlocksHeld.ShouldBe(1);
        pool.FreeCount.ShouldBe(1);
    }

    [Fact]
    public void ReleaseIfDrained_GivesTheBlockBack_OnlyWhenNoByteIsLeft()
    {
        // The read loop calls it between messages, before it waits for the next bytes.
        var pool = new Http2BufferPool();
        using var input = new Http2InputBuffer(pool);
        input.ReleaseIfDrained().ShouldBeTrue("nothing read yet: nothing held");
        byte[] frame = Frame(Http2FrameType.Data, 300, seed: 7);

        Fill(input, frame.AsSpan(0, 100));
        input.ReleaseIfDrained().ShouldBeFalse("a partial frame keeps its block");
        input.BlocksHeld.ShouldBe(1);
        Fill(input, frame.AsSpan(100));
        ReadOnlySequence<byte> data = input.Data;
        Http2FrameReader.TryReadFrame(ref data, HboneDefaults.MaxFrameSize, out _, out var payload).ShouldBeTrue();
        payload.ToArray().ShouldBe(frame[Http2FrameHeader.Size..]);
        input.Consume(data.Start);

        input.ReleaseIfDrained().ShouldBeTrue();
        input.BlocksHeld.ShouldBe(0);
        pool.FreeCount.ShouldBe(1, "the block is back in the pool");
        Fill(input, frame);
        input.Data.ToArray().ShouldBe(frame, "the next read rents a block again");
        pool.Rents.ShouldBe(2);
    }

    [Fact]
    public void Dispose_ReturnsEveryBlock_AndLaterReadsFail()
    {
        var pool = new Http2BufferPool();
        var input = new Http2InputBuffer(pool);
        byte[] half = Frame(Http2FrameType.Data, 3 * Block, seed: 7)[..(2 * Block + 1)];
        for (int sent = 0; sent < half.Length;)
        {
            Memory<byte> room = input.GetReadMemory();
            int n = Math.Min(room.Length, half.Length - sent);
            half.AsSpan(sent, n).CopyTo(room.Span);
            input.Advance(n);
            sent += n;
        }
        input.BlocksHeld.ShouldBe(3);

        input.Dispose();

        input.BlocksHeld.ShouldBe(0);
        pool.FreeCount.ShouldBe(3);
        Should.Throw<ObjectDisposedException>(() => input.GetReadMemory());
    }

    [Fact]
    public void MisuseIsRefused_NotSilentlyCorrupting()
    {
        using var input = new Http2InputBuffer(new Http2BufferPool());
        Memory<byte> room = input.GetReadMemory();
        Should.Throw<ArgumentOutOfRangeException>(() => input.Advance(room.Length + 1));
        Should.Throw<ArgumentException>(() => input.Consume(new ReadOnlySequence<byte>(new byte[4]).Start));
    }

    private static void RoundTrip(Http2InputBuffer input, byte[] message)
    {
        message.CopyTo(input.GetReadMemory().Span);
        input.Advance(message.Length);
        ReadOnlySequence<byte> data = input.Data;
        Http2FrameReader.TryReadFrame(ref data, HboneDefaults.MaxFrameSize, out _, out _).ShouldBeTrue();
        input.Consume(data.Start);
    }

    private static void Fill(Http2InputBuffer input, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(input.GetReadMemory().Span);
        input.Advance(bytes.Length);
    }

    private static byte[] Frame(Http2FrameType type, int payloadLength, int seed)
    {
        byte[] frame = new byte[Http2FrameHeader.Size + payloadLength];
        new Http2FrameHeader(payloadLength, type, 0, type == Http2FrameType.Ping ? 0 : 1).Write(frame);
        new Random(seed).NextBytes(frame.AsSpan(Http2FrameHeader.Size));
        return frame;
    }
}
