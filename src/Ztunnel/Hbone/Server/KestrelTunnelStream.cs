using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Ztunnel.Hbone.Server;

/// <summary>
/// The server side of a CONNECT tunnel: reads the request body (the client's DATA frames; 0 at its
/// END_STREAM) and writes the response body (our DATA frames, flushed per write).
/// </summary>
/// <remarks>
/// Kestrel keeps the two directions of an HTTP/2 stream independent while the request delegate runs:
/// completing the response sends END_STREAM and leaves the request body readable, and the request body
/// ending leaves the response writable. When the delegate returns with the request body unfinished,
/// Kestrel resets the stream (RST_STREAM NO_ERROR), so the session returns only when both sides are done.
/// </remarks>
internal sealed class KestrelTunnelStream : TunnelStream
{
    /// <summary>RST_STREAM error code CANCEL (RFC 9113 §7): the stream is no longer needed.</summary>
    private const int Http2Cancel = 0x8;

    private readonly HttpContext _context;
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;
    private bool _readsDone;
    private bool _writesDone;

    public KestrelTunnelStream(HttpContext context)
    {
        _context = context;
        _reader = context.Request.BodyReader;
        _writer = context.Response.BodyWriter;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_readsDone)
        {
            return 0;
        }
        if (buffer.IsEmpty)
        {
            // Zero-byte read: wait until data (or the end) is there without consuming it, so the relay
            // holds no copy buffer while the tunnel is idle.
            var ready = await _reader.ReadAsync(cancellationToken);
            _reader.AdvanceTo(ready.Buffer.Start);
            return 0;
        }
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken);
            var data = result.Buffer;
            if (!data.IsEmpty)
            {
                int count = (int)Math.Min(data.Length, buffer.Length);
                data.Slice(0, count).CopyTo(buffer.Span);
                _reader.AdvanceTo(data.GetPosition(count));
                return count;
            }
            _reader.AdvanceTo(data.Start, data.End);
            if (result.IsCompleted)
            {
                // The client's END_STREAM: its half-close.
                _readsDone = true;
                return 0;
            }
            if (result.IsCanceled)
            {
                throw new OperationCanceledException("HBONE tunnel read was canceled");
            }
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_writesDone, this);
        // WriteAsync on Kestrel's PipeWriter copies and flushes; it waits while the client's flow-control
        // window or the response buffer is full, which is the back-pressure the relay wants.
        var result = await _writer.WriteAsync(buffer, cancellationToken);
        if (result.IsCompleted)
        {
            throw new IOException("HBONE tunnel: the client reset the stream or the connection closed");
        }
    }

    public override async ValueTask CompleteWritesAsync(CancellationToken cancellationToken = default)
    {
        if (_writesDone)
        {
            return;
        }
        _writesDone = true;
        // Ends the response: END_STREAM on the last DATA frame, reads stay open.
        await _context.Response.CompleteAsync();
    }

    public override void Reset()
    {
        _writesDone = true;
        _readsDone = true;
        var reset = _context.Features.Get<IHttpResetFeature>();
        if (reset is not null)
        {
            reset.Reset(Http2Cancel);
        }
        else
        {
            _context.Abort();
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush() { }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // Sync IO would block a thread per tunnel; Kestrel forbids it too (AllowSynchronousIO = false).
    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("HBONE tunnels are async only; use ReadAsync");

    public override void Write(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("HBONE tunnels are async only; use WriteAsync");
}
