using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Ztunnel.Capture;

namespace Ztunnel.Tls.Native;

// The receive buffer and the recv calls that fill it. Records are opened from here straight into the reader's buffer
// (NativeTlsStream.Reading.cs); only a record in progress at the end of a receive ever moves (to the front).
internal sealed partial class NativeTlsStream
{
    /// <summary>Four full records per <c>recv</c> (one syscall per ~64 KiB in bulk), and room for a record in progress.</summary>
    private const int ReceiveBufferSize = (4 * TlsRecordProtection.FullRecord) + 1024;

    /// <summary>
    /// Drained reads of fewer bytes than this make the next read wait for the poller without asking the socket first.
    /// After a bigger one (bulk transfer) more records have usually arrived while the batch was processed, and the
    /// events that announce them are not counted yet: the read loop runs on the poller's thread, which counts them only
    /// in its next epoll_wait. Waiting there costs a hand-off through the poller per batch (make bench, A/B of the change
    /// without this limit against the build before it: context switches per MB 1.13x, CPU per GB 1.07x, medians of 3
    /// rounds); asking the socket finds the records at once.
    /// </summary>
    private const int SparseReadLimit = 16 * 1024;

    /// <summary>Free receive buffers kept for the next connection that needs one (a request/response connection takes one per message).</summary>
    private const int ReceiveBuffersRetained = 8;

    private static readonly ConcurrentQueue<nint> s_freeReceiveBuffers = new();
    private static int s_freeReceiveBufferCount;

    // Received bytes not yet opened run from _receiveStart to _receiveEnd; the buffer is held only while there are some
    // (or while the reader is busy: it goes back when a zero-byte read finds the connection idle).
    private unsafe byte* _receiveBuffer;
    private int _receiveStart;
    private int _receiveEnd;
    private bool _peerEof; // recv returned 0

    /// <summary>The recv calls this stream's receive path made (tests: one per message, no EAGAIN probes).</summary>
    internal long SocketReads { get; private set; }

    /// <summary>True while the stream holds a receive buffer (tests: an idle connection holds none).</summary>
    internal unsafe bool HoldsReceiveBuffer
    {
        get
        {
            lock (_lock)
            {
                return _receiveBuffer != null;
            }
        }
    }

    /// <summary>
    /// One <c>recv</c> into the buffer: bytes taken, 0 at the end of the stream (noted in <see cref="_peerEof"/>), -1
    /// when the socket has nothing now. Only with no plaintext left over in the buffer (it would be moved over).
    /// </summary>
    private unsafe int ReceiveLocked()
    {
        if (_receiveBuffer == null)
        {
            _receiveBuffer = RentReceiveBuffer();
        }
        if (_receiveStart == _receiveEnd)
        {
            _receiveStart = _receiveEnd = 0;
        }
        int partial = _receiveEnd - _receiveStart;
        int need = 0; // bytes that complete the record in progress
        if (partial >= TlsRecordProtection.HeaderSize)
        {
            byte* header = _receiveBuffer + _receiveStart;
            need = TlsRecordProtection.HeaderSize + ((header[3] << 8) | header[4]) - partial;
        }
        else if (partial > 0)
        {
            need = TlsRecordProtection.HeaderSize - partial;
        }
        if (ReceiveBufferSize - _receiveEnd < need + TlsRecordProtection.FullRecord && _receiveStart > 0)
        {
            Buffer.MemoryCopy(_receiveBuffer + _receiveStart, _receiveBuffer, ReceiveBufferSize, partial);
            _receiveStart = 0;
            _receiveEnd = partial;
        }
        int space = ReceiveBufferSize - _receiveEnd;
        // Ask for whole records: when the peer sends full ones and the kernel has them, the receive ends on a record
        // boundary and nothing is left to move to the front next time.
        int ask = space >= need ? space - ((space - need) % TlsRecordProtection.FullRecord) : space;
        if (ask <= 0)
        {
            ask = space;
        }
        int seen = _socket.ReadEvents;
        int received;
        try
        {
            received = LinuxNative.ReceiveNoWait(_socket.Socket.SafeHandle, new Span<byte>(_receiveBuffer + _receiveEnd, ask));
        }
        catch (SocketException e)
        {
            throw ReceiveFailed(e);
        }
        SocketReads++;
        _socket.NoteReceive(seen, drained: received < ask && received < SparseReadLimit);
        if (received > 0)
        {
            _receiveEnd += received;
        }
        else if (received == 0)
        {
            _peerEof = true;
        }
        return received;
    }

    /// <summary>True when a whole record waits in the buffer.</summary>
    private unsafe bool HasWholeRecordLocked()
    {
        int available = _receiveEnd - _receiveStart;
        if (available < TlsRecordProtection.HeaderSize)
        {
            return false;
        }
        byte* header = _receiveBuffer + _receiveStart;
        return available >= TlsRecordProtection.HeaderSize + ((header[3] << 8) | header[4]);
    }

    /// <summary>Gives the buffer back if it holds nothing: an idle connection keeps no receive buffer.</summary>
    private unsafe void ReleaseReceiveBufferIfEmptyLocked()
    {
        if (_receiveBuffer != null && _receiveStart == _receiveEnd && _leftoverLength == 0)
        {
            FreeReceiveBufferLocked();
        }
    }

    private unsafe void FreeReceiveBufferLocked()
    {
        if (_receiveBuffer != null)
        {
            ReturnReceiveBuffer(_receiveBuffer);
            _receiveBuffer = null;
            _receiveStart = _receiveEnd = 0;
            _leftoverLength = 0;
        }
    }

    private static unsafe byte* RentReceiveBuffer()
    {
        if (s_freeReceiveBuffers.TryDequeue(out nint free))
        {
            Interlocked.Decrement(ref s_freeReceiveBufferCount);
            return (byte*)free;
        }
        return (byte*)NativeMemory.Alloc(ReceiveBufferSize);
    }

    private static unsafe void ReturnReceiveBuffer(byte* buffer)
    {
        if (Interlocked.Increment(ref s_freeReceiveBufferCount) <= ReceiveBuffersRetained)
        {
            s_freeReceiveBuffers.Enqueue((nint)buffer);
            return;
        }
        Interlocked.Decrement(ref s_freeReceiveBufferCount);
        NativeMemory.Free(buffer);
    }
}
