using System.Runtime.InteropServices;

namespace Ztunnel.Tls.Native;

// The send buffer's size follows the connection's use. Big (four full records, one 64 KiB write batch) under bulk: one
// send per batch. Small when idle or for small messages: an idle pooled connection holds 4 KiB of it, not 66. It is
// resized only while empty, with hysteresis so a bulk connection does not flap between the two. (The handshake's ring,
// a BIO pair, stays small: its flights are a few KiB and it is freed with the SSL.)
internal sealed partial class NativeTlsStream
{
    private const int SmallRing = 4 * 1024;
    private const int BigRing = 4 * (16 * 1024 + 256);

    /// <summary>Sends smaller than this count as small.</summary>
    private const int SmallSend = 4 * 1024;

    /// <summary>How many small sends in a row shrink a big buffer again.</summary>
    private const int SmallSendsToShrink = 32;

    // Records sealed and not yet sent run from _sendStart to _sendEnd; both go back to 0 whenever it is empty.
    private unsafe byte* _sendBuffer;
    private int _sendCapacity;
    private int _sendStart;
    private int _sendEnd;
    private bool _ringFilled;
    private int _smallSends;

    /// <summary>Send buffer size now (tests).</summary>
    internal int SendBufferSize
    {
        get
        {
            lock (_lock)
            {
                return _sendCapacity;
            }
        }
    }

    private void StartSendBufferLocked() => ResizeSendBufferLocked(SmallRing);

    /// <summary>
    /// True when a record of <paramref name="contentLength"/> bytes fits behind what the buffer holds; an empty small
    /// buffer grows at once. False: send what is there first (a small buffer grows once that send emptied it).
    /// </summary>
    private bool HasSendRoomLocked(int contentLength)
    {
        int needed = contentLength + TlsRecordProtection.Overhead;
        if (_sendCapacity - _sendEnd >= needed)
        {
            return true;
        }
        if (_sendEnd == 0 && _sendCapacity < BigRing)
        {
            ResizeSendBufferLocked(BigRing);
            return true;
        }
        _ringFilled = true;
        return false;
    }

    /// <summary>After <paramref name="sent"/> bytes left the send buffer: resize it if it is empty and the use says so.</summary>
    private void OnSentLocked(int sent)
    {
        _smallSends = sent < SmallSend ? _smallSends + 1 : 0;
        if (_sendEnd != 0)
        {
            return;
        }
        if (_ringFilled && _sendCapacity == SmallRing)
        {
            ResizeSendBufferLocked(BigRing);
        }
        else if (_sendCapacity == BigRing && _smallSends >= SmallSendsToShrink)
        {
            ResizeSendBufferLocked(SmallRing);
        }
        _ringFilled = false;
    }

    private unsafe void ResizeSendBufferLocked(int size)
    {
        FreeSendBufferLocked();
        _sendBuffer = (byte*)NativeMemory.Alloc((nuint)size);
        _sendCapacity = size;
        _smallSends = 0;
    }

    private unsafe void FreeSendBufferLocked()
    {
        if (_sendBuffer != null)
        {
            NativeMemory.Free(_sendBuffer);
            _sendBuffer = null;
            _sendCapacity = _sendStart = _sendEnd = 0;
        }
    }
}
