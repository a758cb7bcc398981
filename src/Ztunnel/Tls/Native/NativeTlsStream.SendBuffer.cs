using System.Runtime.InteropServices;

namespace Ztunnel.Tls.Native;

// The send buffer's size follows the connection's use. Big (four full records, one 64 KiB write batch) under bulk: one
// send per batch. Small when idle or for small messages: an idle pooled connection holds 4 KiB of it, not 66. It is
// resized only while empty, with hysteresis so a bulk connection does not flap between the two.
internal sealed partial class NativeTlsStream
{
    /// <summary>The handshake's ring (a BIO pair OpenSSL writes its flights into): a flight is a few KiB, and it goes with the SSL.</summary>
    private const int HandshakeRing = 4 * 1024;

    private const int SmallSendBuffer = 4 * 1024;
    private const int BigSendBuffer = 4 * (16 * 1024 + 256);

    /// <summary>Sends smaller than this count as small.</summary>
    private const int SmallSend = 4 * 1024;

    /// <summary>How many small sends in a row shrink a big buffer again.</summary>
    private const int SmallSendsToShrink = 32;

    // Records sealed and not yet sent run from _sendStart to _sendEnd; both go back to 0 whenever it is empty.
    private unsafe byte* _sendBuffer;
    private int _sendCapacity;
    private int _sendStart;
    private int _sendEnd;
    private bool _sendBufferFilled;
    private int _smallSends;

    private void StartSendBufferLocked() => ResizeSendBufferLocked(SmallSendBuffer);

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
        if (_sendEnd == 0 && _sendCapacity < BigSendBuffer)
        {
            ResizeSendBufferLocked(BigSendBuffer);
            return true;
        }
        _sendBufferFilled = true;
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
        if (_sendBufferFilled && _sendCapacity == SmallSendBuffer)
        {
            ResizeSendBufferLocked(BigSendBuffer);
        }
        else if (_sendCapacity == BigSendBuffer && _smallSends >= SmallSendsToShrink)
        {
            ResizeSendBufferLocked(SmallSendBuffer);
        }
        _sendBufferFilled = false;
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
