using System.IO.Pipelines;

namespace Ztunnel.Hbone.Server;

/// <summary>
/// The socket's pipes as Kestrel's TLS and HTTP/2 layers see them, except that those layers completing
/// them does not close the socket: <see cref="CloseAsync"/> does, after a lingering close.
/// </summary>
/// <remarks>
/// Kestrel's socket transport shuts the socket down and closes it the moment the connection's output
/// completes. A client still reading our last DATA frames keeps sending WINDOW_UPDATEs; one that arrives
/// after the close (or sits unread in the receive buffer at close) makes the kernel answer with RST and
/// drop what is still in our send queue, so the tail of a tunnel that ended cleanly during a drain is lost.
/// RFC 9112 §9.6 (the same TCP applies to HTTP/2): keep reading until the client closes, then close.
/// The wait is bounded, so a client that never closes holds the socket only <see cref="MaxLinger"/>.
/// </remarks>
internal sealed class LingeringTransport : IDuplexPipe
{
    /// <summary>
    /// Clients close once they saw GOAWAY and their last stream ended, so this bounds only clients that
    /// don't; a second is what Go's HTTP/2 server waits after its final GOAWAY.
    /// </summary>
    internal static readonly TimeSpan MaxLinger = TimeSpan.FromSeconds(1);

    private readonly IDuplexPipe _socket;

    public LingeringTransport(IDuplexPipe socket)
    {
        _socket = socket;
        Input = new KeepOpenReader(socket.Input);
        Output = new KeepOpenWriter(socket.Output);
    }

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

    /// <summary>
    /// Once the upper layers are done with the connection: discard what the client still sends until it
    /// closes (or <see cref="MaxLinger"/> passed, or the connection was aborted), then close the socket.
    /// </summary>
    public async Task CloseAsync(TimeProvider timeProvider)
    {
        using var linger = new CancellationTokenSource(MaxLinger, timeProvider);
        try
        {
            while (true)
            {
                var result = await _socket.Input.ReadAsync(linger.Token);
                _socket.Input.AdvanceTo(result.Buffer.End);
                // IsCanceled is the upper layer's leftover CancelPendingRead, not the end: read on.
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            // Linger over, connection aborted or reset, or the input already completed: close now.
        }
        await _socket.Output.CompleteAsync();
        await _socket.Input.CompleteAsync();
    }

    /// <summary>Forwards everything; completing only marks the upper layer done.</summary>
    private sealed class KeepOpenReader(PipeReader inner) : PipeReader
    {
        public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) { }

        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) => inner.ReadAsync(cancellationToken);

        public override bool TryRead(out ReadResult result) => inner.TryRead(out result);
    }

    /// <summary>Forwards everything; completing only marks the upper layer done (its data is flushed).</summary>
    private sealed class KeepOpenWriter(PipeWriter inner) : PipeWriter
    {
        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override void Advance(int bytes) => inner.Advance(bytes);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) { }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
            inner.WriteAsync(source, cancellationToken);
    }
}
