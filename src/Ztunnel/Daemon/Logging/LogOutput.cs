using System.Buffers;

namespace Ztunnel.Daemon.Logging;

/// <summary>
/// Formats events and writes each as one write of one whole line (stderr in the daemon). The lock keeps lines
/// from different threads apart and lets one buffer serve every line; each line is flushed at once, because
/// operators tail the log and the daemon may be killed at any moment.
/// </summary>
internal sealed class LogOutput(Stream stream, ILogLineFormatter formatter)
{
    // A line with a long exception grows the buffer; past this it is let go instead of kept for good.
    private const int KeptCapacity = 64 * 1024;

    private readonly Lock _lock = new();
    private ArrayBufferWriter<byte> _buffer = new(1024);

    public void Write(in LogRecord record)
    {
        lock (_lock)
        {
            _buffer.ResetWrittenCount();
            try
            {
                formatter.Format(_buffer, record);
                stream.Write(_buffer.WrittenSpan);
                stream.Flush();
            }
            catch (IOException)
            {
                // stderr closed or full: a log line is not worth failing the connection that wrote it.
            }
            catch (ObjectDisposedException)
            {
                // A test's stream closed under a late line: the same, nothing to report it to.
            }
            if (_buffer.Capacity > KeptCapacity)
            {
                _buffer = new ArrayBufferWriter<byte>(1024);
            }
        }
    }
}
