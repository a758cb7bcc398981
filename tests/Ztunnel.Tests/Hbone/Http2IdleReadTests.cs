using Ztunnel.Hbone;

namespace Ztunnel.Tests.Hbone;

/// <summary>
/// An HBONE connection waiting for its peer holds no input block: pooled connections sit idle most of their life,
/// and each one that ever carried bulk traffic would otherwise keep a 64 KiB block resident.
/// </summary>
public sealed class Http2IdleReadTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AfterBulkData_TheIdleReadLoop_WaitsWithAZeroByteRead_AndHoldsNoBlock()
    {
        ReadWatchingStream? watch = null;
        await using var peer = await RawHttp2Peer.StartAsync(wrapTransport: s => watch = new ReadWatchingStream(s));
        var (tunnel, id) = await peer.OpenTunnelAsync();
        byte[] bulk = new byte[40_000];
        Random.Shared.NextBytes(bulk);
        await peer.WriteDataAsync(id, bulk);
        byte[] received = new byte[bulk.Length];
        await tunnel.ReadExactlyAsync(received).AsTask().WaitAsync(Guard);
        received.ShouldBe(bulk);

        // Once the client has answered a PING, every frame sent is processed: the read it then waits in (from now
        // until more data comes) shows what an idle connection keeps.
        await peer.SyncAsync();
        (await watch!.WaitingReadAsync().WaitAsync(Guard)).ShouldBe(0, "the read an idle connection waits in takes no buffer");
        peer.Client.InputBlocksHeld.ShouldBe(0);

        // And it goes on reading: the data after the wait arrives whole.
        await peer.WriteDataAsync(id, bulk);
        await tunnel.ReadExactlyAsync(received).AsTask().WaitAsync(Guard);
        received.ShouldBe(bulk);
    }

    /// <summary>Passes everything through; tells which buffer size the read waiting for the peer (if any) was given.</summary>
    private sealed class ReadWatchingStream(Stream inner) : Stream
    {
        private readonly Lock _sync = new();
        private int _waitingLength = -1;
        private TaskCompletionSource<int>? _nextWait;

        /// <summary>The buffer length of the read waiting now, or else of the next read that has to wait.</summary>
        public Task<int> WaitingReadAsync()
        {
            lock (_sync)
            {
                if (_waitingLength >= 0)
                {
                    return Task.FromResult(_waitingLength);
                }
                _nextWait ??= new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
                return _nextWait.Task;
            }
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            ValueTask<int> read = inner.ReadAsync(buffer, cancellationToken);
            return read.IsCompleted ? read : WaitAsync(read, buffer.Length);
        }

        private async ValueTask<int> WaitAsync(ValueTask<int> read, int length)
        {
            lock (_sync)
            {
                _waitingLength = length;
                _nextWait?.TrySetResult(length);
                _nextWait = null;
            }
            try
            {
                return await read;
            }
            finally
            {
                lock (_sync)
                {
                    _waitingLength = -1;
                }
            }
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.WriteAsync(buffer, cancellationToken);

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

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
