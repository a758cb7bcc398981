using System.Buffers;

namespace Ztunnel.Admin.Http;

/// <summary>
/// A response body in one pooled array, with room kept free in front of it for the response head so that head
/// and body leave in one send. Rented on first write, returned by <see cref="Release"/>.
/// </summary>
internal sealed class ResponseBuffer : IBufferWriter<byte>
{
    /// <summary>Bytes kept in front of the body for the head.</summary>
    public const int HeadRoom = 512;

    private byte[]? _array;
    private int _end = HeadRoom;

    public int Length => _end - HeadRoom;

    public void Advance(int count)
    {
        if (_array is null || count < 0 || _end + count > _array.Length)
        {
            throw new InvalidOperationException($"cannot advance the response body by {count} bytes");
        }
        _end += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsMemory(_end);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsSpan(_end);
    }

    /// <summary>The head (at most <see cref="HeadRoom"/> bytes), then the body unless <paramref name="headOnly"/>, as one block.</summary>
    public ReadOnlyMemory<byte> Frame(ReadOnlySpan<byte> head, bool headOnly)
    {
        Ensure(0);
        int start = HeadRoom - head.Length;
        head.CopyTo(_array.AsSpan(start));
        return _array.AsMemory(start, headOnly ? head.Length : _end - start);
    }

    /// <summary>Forgets the body and gives the array back to the pool.</summary>
    public void Release()
    {
        _end = HeadRoom;
        if (_array is { } array)
        {
            _array = null;
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    /// <summary>Forgets the body, keeping the array (an error page replaces what a failed handler wrote).</summary>
    public void Clear() => _end = HeadRoom;

    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(_array))]
    private void Ensure(int sizeHint)
    {
        int need = Math.Max(sizeHint, 256);
        if (_array is not null && _array.Length - _end >= need)
        {
            return;
        }
        byte[] bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_end + need, _array is null ? 4096 : _array.Length * 2));
        if (_array is not null)
        {
            _array.AsSpan(0, _end).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_array);
        }
        _array = bigger;
    }
}
