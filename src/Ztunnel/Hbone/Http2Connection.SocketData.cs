using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Ztunnel.Sockets;
using Ztunnel.Tls.Native;

namespace Ztunnel.Hbone;

// DATA straight from a socket. The relay's app -> tunnel direction used to receive the app's bytes into a buffer
// of its own and hand them to WriteDataAsync, which copied them into the output pipe behind a frame header. Here
// the socket receives into the output pipe itself, just behind the header room: the kernel's copy is the only one,
// and the relay needs no buffer. The receive never waits (MSG_DONTWAIT) and is made under _sync, where the copy
// into the pipe used to be made, so the lock is held about as long as before.
public abstract partial class Http2Connection
{
    /// <summary>
    /// Receives up to <paramref name="maxBytes"/> from <paramref name="socket"/> as DATA frames of
    /// <paramref name="stream"/>, within the send windows (waiting for credit or for the output queue to drain as
    /// <see cref="WriteDataAsync"/> does). Returns the bytes sent on; 0 at the socket's end of stream; -1 when the
    /// socket had nothing yet (wait until it is readable, then call again). A failed receive throws.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<int> WriteDataFromSocketAsync(Http2Stream stream, PolledSocket socket, int maxBytes, CancellationToken ct)
    {
        while (true)
        {
            Task? wait = null;
            bool writeHere;
            int framed = 0;
            int last = 0;
            SocketException? failure = null;
            lock (_sync)
            {
                stream.ThrowIfCannotSendLocked();
                int maxPayload = Math.Min(_peerMaxFrameSize, MaxDataPayload);
                bool blocked = false;
                while (framed < maxBytes)
                {
                    long credit = Math.Min(stream.SendWindow, _connectionSendWindow);
                    if (credit <= 0 || _outputQueued >= OutputHighWater)
                    {
                        blocked = true;
                        break;
                    }
                    int n = (int)Math.Min(Math.Min(credit, maxBytes - framed), maxPayload);
                    Span<byte> frame = _output.GetSpan(Http2FrameHeader.Size + n);
                    try
                    {
                        last = socket.Receive(frame.Slice(Http2FrameHeader.Size, n));
                    }
                    catch (SocketException e)
                    {
                        // Send on what was framed before the failure, then report it.
                        failure = e;
                        break;
                    }
                    if (last <= 0)
                    {
                        break;
                    }
                    new Http2FrameHeader(last, Http2FrameType.Data, Http2Flags.None, stream.Id).Write(frame);
                    _output.Advance(Http2FrameHeader.Size + last);
                    stream.SendWindow -= last;
                    _connectionSendWindow -= last;
                    framed += last;
                    if (last < n)
                    {
                        break; // the socket is drained for now
                    }
                }
                // Nobody writing: write our frames to the transport ourselves (WriteLoop.cs says why).
                writeHere = framed > 0 && PublishAndClaimLocked();
                if (framed == 0 && blocked && failure is null)
                {
                    wait = PrepareDataWriterWaitLocked(stream);
                }
            }
            if (writeHere)
            {
                await WriteInlineAsync().ConfigureAwait(false);
            }
            if (failure is not null)
            {
                throw failure;
            }
            if (framed > 0)
            {
                return framed;
            }
            if (wait is null)
            {
                return last; // 0: end of stream; -1: nothing to read yet
            }
            await wait.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>The most <see cref="TryWriteDataFromSocketNow"/> frames at once: one TLS record's worth.</summary>
    internal const int ImmediateDataLimit = 16 * 1024;

    /// <summary>
    /// The poller's thread, at the app socket's readable event, while the relay waits: when the connection's output
    /// is idle (nothing queued, nobody writing) and the windows allow, receives what the socket has (up to
    /// <see cref="ImmediateDataLimit"/>) as one DATA frame of <paramref name="stream"/> and seals and sends it at once.
    /// No output pipe, no write loop, no async chain woken and unwound: a request/response message costs one receive,
    /// one seal and one send. Anything else (output busy, no credit, the end of the stream, another transport) does
    /// nothing and leaves it to <see cref="WriteDataFromSocketAsync"/>. Returns the bytes sent on; <paramref name="drained"/>
    /// when the socket had nothing more (the relay may go on waiting). A failed receive throws.
    /// </summary>
    [SkipLocalsInit] // the frame buffer is written before it is read: no 16 KiB of zeroes per message
    internal int TryWriteDataFromSocketNow(Http2Stream stream, PolledSocket socket, out bool drained)
    {
        drained = false;
        if (_transport is not NativeTlsStream tls)
        {
            return 0;
        }
        Span<byte> frame = stackalloc byte[Http2FrameHeader.Size + ImmediateDataLimit];
        int received;
        lock (_sync)
        {
            if (_closed || _writerBusy || _outputQueued > 0 || !stream.CanSendLocked)
            {
                return 0;
            }
            int limit = (int)Math.Min(Math.Min(stream.SendWindow, _connectionSendWindow), Math.Min(Math.Min(_peerMaxFrameSize, MaxDataPayload), ImmediateDataLimit));
            if (limit <= 0)
            {
                return 0;
            }
            // Under the lock, as WriteDataFromSocketAsync receives: the windows pay for exactly what came.
            received = socket.Receive(frame.Slice(Http2FrameHeader.Size, limit));
            if (received <= 0)
            {
                // -1: nothing there (an event for data taken already), go on waiting; 0: the end, the relay's to handle.
                drained = received < 0;
                return 0;
            }
            new Http2FrameHeader(received, Http2FrameType.Data, Http2Flags.None, stream.Id).Write(frame);
            stream.SendWindow -= received;
            _connectionSendWindow -= received;
            _writerBusy = true; // as an inline writer: our frame goes out before anything queued after it
            drained = received < limit;
        }
        ReadOnlySpan<byte> bytes = frame[..(Http2FrameHeader.Size + received)];
        try
        {
            int sealedBytes = tls.TryWrite(bytes);
            if (sealedBytes == bytes.Length && tls.TrySendNow())
            {
                ReleaseImmediateWriter();
                return received;
            }
            // The TLS send buffer or the socket's is full: the rest goes out asynchronously, still as the writer.
            _ = FinishImmediateWriteAsync(tls, sealedBytes < bytes.Length ? bytes[sealedBytes..].ToArray() : null);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            FailImmediateWrite(e);
            drained = false; // the relay's own path meets the aborted connection
        }
        return received;
    }

    private async Task FinishImmediateWriteAsync(NativeTlsStream tls, byte[]? unsealed)
    {
        try
        {
            if (unsealed is not null)
            {
                await tls.WriteAsync(unsealed).ConfigureAwait(false);
            }
            await tls.FlushAsync().ConfigureAwait(false);
            ReleaseImmediateWriter();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            FailImmediateWrite(e);
        }
    }

    /// <summary>The immediate write is out: the writer's role goes to the loop if frames were queued meanwhile.</summary>
    private void ReleaseImmediateWriter()
    {
        lock (_sync)
        {
            if (_outputQueued > 0 || _closed)
            {
                _writeSignal.Set();
            }
            else
            {
                _writerBusy = false;
            }
        }
    }

    /// <summary>As a failed inline write: the connection is aborted and the loop, as the writer, sees it end.</summary>
    private void FailImmediateWrite(Exception e)
    {
        Abort(new IOException($"HTTP/2 connection write failed: {e.Message}", e), goAwayCode: null);
        lock (_sync)
        {
            _writeSignal.Set();
        }
    }
}
