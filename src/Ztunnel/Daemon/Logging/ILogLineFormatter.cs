using System.Buffers;

namespace Ztunnel.Daemon.Logging;

/// <summary>Writes one event as one whole line (ending in a newline) of UTF-8.</summary>
internal interface ILogLineFormatter
{
    void Format(IBufferWriter<byte> output, in LogRecord record);
}
