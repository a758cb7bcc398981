using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Ztunnel.Bench;

/// <summary>An in-memory transport: reads come from one pipe, writes go to another. Lets a benchmark drive a connection without sockets or TLS.</summary>
internal sealed class PipeDuplexStream(PipeReader input, PipeWriter output) : Stream
{
    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ReadResult result = await input.ReadAsync(cancellationToken);
        if (result.Buffer.IsEmpty && result.IsCompleted)
        {
            return 0;
        }
        int n = (int)Math.Min(buffer.Length, result.Buffer.Length);
        result.Buffer.Slice(0, n).CopyTo(buffer.Span);
        input.AdvanceTo(result.Buffer.GetPosition(n));
        return n;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        await output.WriteAsync(buffer, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    public override void Flush() { }
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            input.Complete();
            output.Complete();
        }
        base.Dispose(disposing);
    }
}
