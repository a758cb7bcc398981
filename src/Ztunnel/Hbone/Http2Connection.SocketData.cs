using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Ztunnel.Sockets;

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
}
