using System.Buffers;
using Ztunnel.Hbone.Hpack;

namespace Ztunnel.Hbone.Server;

// Answering a CONNECT (DESIGN §4): HEADERS with :status, and ending the stream once its session is done.
internal sealed partial class Http2ServerConnection
{
    // Reused under _sync for every response block: a :status is at most 5 bytes of HPACK.
    private readonly ArrayBufferWriter<byte> _responseBlock = new(16);

    /// <summary>
    /// Sends the response HEADERS: 200 opens the tunnel (no END_STREAM); any other status ends our side
    /// (END_STREAM) and, if the client is still sending, asks it to stop with RST_STREAM NO_ERROR (§8.1).
    /// Throws <see cref="IOException"/> when the stream or the connection is already gone (or breaks while
    /// the response is written here).
    /// </summary>
    public ValueTask SendResponseAsync(Http2Stream stream, HboneStatus status)
    {
        bool tunnel = status == HboneStatus.Ok;
        bool writeHere;
        lock (_sync)
        {
            stream.ThrowIfCannotSendLocked();
            _responseBlock.ResetWrittenCount();
            HpackEncoder.EncodeStatus((int)status, _responseBlock);
            Http2FrameWriter.WriteHeaders(_output, stream.Id, _responseBlock.WrittenSpan, endStream: !tunnel, _peerMaxFrameSize);
            stream.ResponseSent = true;
            if (!tunnel)
            {
                stream.LocalClosed = true;
                EndStreamLocked(stream);
            }
            // Nobody writing: the handler's task writes the response itself (no wake-up of the write loop).
            writeHere = PublishAndClaimLocked();
        }
        return writeHere ? WriteInlineAsync() : ValueTask.CompletedTask;
    }

    /// <summary>
    /// The session returned: what it left open closes cleanly, as HTTP/2 servers do when a handler returns.
    /// Our side gets END_STREAM; a client still sending is told to stop with RST_STREAM NO_ERROR (§8.1).
    /// </summary>
    public void FinishStream(Http2Stream stream)
    {
        lock (_sync)
        {
            if (stream.Failed || !_streams.ContainsKey(stream.Id))
            {
                return;
            }
            if (!stream.LocalClosed)
            {
                Http2FrameWriter.WriteData(_output, stream.Id, default, endStream: true);
                stream.LocalClosed = true;
            }
            EndStreamLocked(stream);
            FlushOutputLocked();
        }
    }

    /// <summary>Our side is closed: if the client's is not, reset it with NO_ERROR; either way the stream is done once both are.</summary>
    private void EndStreamLocked(Http2Stream stream)
    {
        if (!stream.RemoteClosed)
        {
            WriteRstStreamLocked(stream.Id, Http2ErrorCode.NoError);
            stream.RemoteClosed = true;
            stream.CompleteReceiveLocked(null);
            ReturnUnreadCreditLocked(stream);
        }
        RemoveStreamLocked(stream);
    }
}
