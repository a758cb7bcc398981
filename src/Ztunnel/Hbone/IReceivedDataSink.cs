using System.Buffers;

namespace Ztunnel.Hbone;

/// <summary>
/// Where an <see cref="Http2Stream"/>'s received DATA may go straight from the connection's read loop, bypassing the
/// stream's receive buffer and its reader (<see cref="Http2Stream.SendReceivedTo"/>): the relay's destination socket.
/// </summary>
internal interface IReceivedDataSink
{
    /// <summary>
    /// Takes what it can of <paramref name="data"/> now, without waiting, and returns how many bytes it took. Never
    /// throws: a destination that failed takes nothing, and the relay's next write there reports the failure.
    /// </summary>
    int TrySend(in ReadOnlySequence<byte> data);
}
