using System.Buffers;

namespace Ztunnel.Tls.Native;

/// <summary>
/// A <see cref="Memory{T}"/> over native memory that stays put (OpenSSL's write ring), so a socket can
/// send straight from it. One instance per connection, re-aimed for every send: no allocation per send.
/// </summary>
internal sealed unsafe class PointerMemoryManager : MemoryManager<byte>
{
    private byte* _pointer;
    private int _length;

    /// <summary>Aims this manager at <paramref name="length"/> bytes at <paramref name="pointer"/>.</summary>
    public Memory<byte> Reset(byte* pointer, int length)
    {
        _pointer = pointer;
        _length = length;
        return Memory;
    }

    public override Span<byte> GetSpan() => new(_pointer, _length);

    // The memory is native: nothing to pin.
    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        _pointer = null;
        _length = 0;
    }
}
