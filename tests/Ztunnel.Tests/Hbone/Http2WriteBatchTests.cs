using Ztunnel.Hbone;
using Ztunnel.Proxy;

namespace Ztunnel.Tests.Hbone;

/// <summary>How a DATA writer's frames reach the transport: the writer that framed them writes them itself.</summary>
public sealed class Http2WriteBatchTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task TheRelaysLargestChunk_GoesOutInOneBatch_WithNoTailLeftToTheWriteLoop()
    {
        // As between two daemons: 64 KiB frames, windows far above the chunk.
        CountingStream? transport = null;
        await using var peer = await RawHttp2Peer.StartAsync(
            [new(Http2SettingId.MaxFrameSize, HboneDefaults.MaxFrameSize), new(Http2SettingId.InitialWindowSize, HboneDefaults.StreamWindow)],
            wrapTransport: s => transport = new CountingStream(s));
        await peer.WriteWindowUpdateAsync(0, HboneDefaults.ConnectionWindow);
        var (tunnel, id) = await peer.OpenTunnelAsync();
        await peer.SyncAsync(); // the credit is in, the client's replies are out
        int flushesBefore = transport!.Flushes;

        // Four full 64 KiB frames and a fifth of 36 bytes: the fifth used to go out on its own, from a pool worker.
        byte[] chunk = Http2FlowControlTests.Pattern(Relay.MaxBufferSize);
        await tunnel.WriteAsync(chunk).AsTask().WaitAsync(Guard);

        (await Http2FlowControlTests.ReadDataAsync(peer, id, chunk.Length)).ShouldBe(chunk);
        (transport.Flushes - flushesBefore).ShouldBe(1, "one chunk, one write batch");
        await tunnel.DisposeAsync();
    }

    /// <summary>Counts the flushes that end each write batch to the transport.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        private int _flushes;

        public int Flushes => Volatile.Read(ref _flushes);

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _flushes);
            return inner.FlushAsync(cancellationToken);
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.WriteAsync(buffer, offset, count, cancellationToken);
        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
