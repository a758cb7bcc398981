using Ztunnel.Hbone;

namespace Ztunnel.Tests.Hbone;

public sealed class NativeMemoryBlockTests
{
    [Fact]
    public void Memory_ReadsBackWhatWasWritten_ThroughSlicesToo()
    {
        using var block = new NativeMemoryBlock(4096);
        Memory<byte> memory = block.Memory;
        memory.Length.ShouldBe(4096);
        memory.Span.Fill(0x5A);
        memory.Span[100] = 7;

        memory.Slice(100).Span[0].ShouldBe((byte)7);
        memory.Span.Count((byte)0x5A).ShouldBe(4095);
    }

    [Fact]
    public void Span_AfterTheBlockWasFreed_Throws()
    {
        var block = new NativeMemoryBlock(4096);
        Memory<byte> memory = block.Memory;
        ((IDisposable)block).Dispose();
        ((IDisposable)block).Dispose();   // freeing twice is harmless

        Should.Throw<ObjectDisposedException>(() => memory.Span.Length);
    }
}
