using System.Buffers;
using System.Globalization;

namespace Ztunnel.Daemon.Logging;

/// <summary>
/// The text line, as Serilog's console output template
/// <c>{Timestamp:yyyy-MM-ddTHH:mm:ss.fffZ} {Level:u4} {SourceContext}: {Message:lj}{NewLine}{Exception}</c> wrote it:
/// strings unquoted, an exception on the lines after.
/// </summary>
internal sealed class TextLineFormatter : ILogLineFormatter
{
    public void Format(IBufferWriter<byte> output, in LogRecord record)
    {
        Span<byte> time = output.GetSpan(32);
        record.Timestamp.UtcDateTime.TryFormat(time, out int written, "yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        output.Advance(written);
        Utf8Output.Write(output, (byte)' ');
        Utf8Output.Write(output, LogLevelNames.Short(record.Level));
        Utf8Output.Write(output, (byte)' ');
        Utf8Output.Write(output, record.Category);
        Utf8Output.Write(output, ": "u8);
        MessageRenderer.Render(output, record, LogValues.Quoting.Literal);
        Utf8Output.Write(output, (byte)'\n');
        if (record.Exception is { } exception)
        {
            Utf8Output.Write(output, exception.ToString());
            Utf8Output.Write(output, (byte)'\n');
        }
    }
}
