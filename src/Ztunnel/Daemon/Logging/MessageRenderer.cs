using System.Buffers;

namespace Ztunnel.Daemon.Logging;

/// <summary>Fills a message template's holes from the event's values.</summary>
internal static class MessageRenderer
{
    public static void Render(IBufferWriter<byte> output, in LogRecord record, LogValues.Quoting quoting)
    {
        MessageTemplate.Token[] tokens = record.Template.Tokens;
        int hole = 0;
        foreach (MessageTemplate.Token token in tokens)
        {
            if (!token.IsHole)
            {
                Utf8Output.Write(output, token.Raw);
            }
            else if (record.TryGetValue(token, hole++, out object? value))
            {
                LogValues.WriteText(output, value, token.Format, quoting);
            }
            else
            {
                Utf8Output.Write(output, token.Raw);   // Serilog writes a hole without a value as it is
            }
        }
    }
}
