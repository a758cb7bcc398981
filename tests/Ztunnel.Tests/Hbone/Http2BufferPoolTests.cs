using System.Buffers;
using Ztunnel.Hbone;

namespace Ztunnel.Tests.Hbone;

public sealed class Http2BufferPoolTests
{
    [Fact]
    public void Trim_ReleasesTheFreeBlocksOfABurst_DownToWhatItKeeps()
    {
        var pool = new Http2BufferPool();
        Burst(pool, 10);
        pool.FreeCount.ShouldBe(10);

        pool.Trim(keep: 3).ShouldBe(7);
        pool.FreeCount.ShouldBe(3);
        pool.Trim(keep: 3).ShouldBe(0);
    }

    [Fact]
    public void Trim_LeavesRentedBlocksAlone()
    {
        var pool = new Http2BufferPool();
        using IMemoryOwner<byte> inUse = pool.Rent();
        inUse.Memory.Span.Fill(0x42);
        Burst(pool, 4);

        pool.Trim(keep: 0).ShouldBe(4);
        inUse.Memory.Span.IndexOfAnyExcept((byte)0x42).ShouldBe(-1);
    }

    [Fact]
    public void Rent_AfterTrim_GivesDistinctWorkingBlocks()
    {
        var pool = new Http2BufferPool();
        Burst(pool, 4);
        pool.Trim(keep: 0).ShouldBe(4);

        using IMemoryOwner<byte> a = pool.Rent();
        using IMemoryOwner<byte> b = pool.Rent();
        a.Memory.Length.ShouldBe(Http2BufferPool.BlockSize);
        a.Memory.Span.Fill(0xAA);
        b.Memory.Span.Fill(0x55);
        a.Memory.Span.IndexOfAnyExcept((byte)0xAA).ShouldBe(-1);
        b.Memory.Span.IndexOfAnyExcept((byte)0x55).ShouldBe(-1);
        pool.Rents.ShouldBe(6);
    }

    [Fact]
    public void Rent_ReusesAReturnedBlock_UntilTrimReleasesIt()
    {
        var pool = new Http2BufferPool();
        IMemoryOwner<byte> first = pool.Rent();
        Memory<byte> memory = first.Memory;
        first.Dispose();
        first.Dispose();   // a double return must not put the block in the free list twice
        pool.FreeCount.ShouldBe(1);

        using IMemoryOwner<byte> again = pool.Rent();
        again.Memory.Equals(memory).ShouldBeTrue();
        pool.FreeCount.ShouldBe(0);
    }

    // Rents `count` blocks at once (a burst), then returns them all.
    private static void Burst(Http2BufferPool pool, int count)
    {
        var owners = new IMemoryOwner<byte>[count];
        for (int i = 0; i < count; i++)
        {
            owners[i] = pool.Rent();
        }
        foreach (var owner in owners)
        {
            owner.Dispose();
        }
    }
}
