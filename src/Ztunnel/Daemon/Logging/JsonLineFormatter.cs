using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Ztunnel.Daemon.Logging;

/// <summary>
/// The JSON line, shaped as Serilog's <c>JsonFormatter(renderMessage: true)</c> wrote it (docs/observability.md):
/// <code>
/// {"Timestamp":"2026-01-02T03:04:05.6780000+00:00","Level":"Information","MessageTemplate":"...","RenderedMessage":"...",
///  "Exception":"...","Properties":{"Name":value,...,"EventId":{"Id":1500,"Name":"LogCompleted"},"SourceContext":"Ztunnel.AccessLog"},
///  "Renderings":{"Name":[{"Format":"F1","Rendering":"12.3"}]}}
/// </code>
/// Exception only when there is one, Renderings only for holes with a format. Not thread-safe: the output calls
/// it under its lock, so the writer and the scratch buffer are reused line after line.
/// </summary>
internal sealed class JsonLineFormatter : ILogLineFormatter
{
    // Relaxed: like Serilog, only quotes, backslashes and control characters are escaped (not <, >, &, ' or non-ASCII).
    private static readonly JsonWriterOptions s_options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    private readonly ArrayBufferWriter<byte> _scratch = new(256);
    private Utf8JsonWriter? _writer;

    public void Format(IBufferWriter<byte> output, in LogRecord record)
    {
        Utf8JsonWriter writer = _writer ??= new Utf8JsonWriter(output, s_options);
        writer.Reset(output);
        writer.WriteStartObject();

        Span<byte> time = stackalloc byte[40];
        record.Timestamp.ToUniversalTime().TryFormat(time, out int written, "O", CultureInfo.InvariantCulture);
        writer.WriteString("Timestamp"u8, time[..written]);
        writer.WriteString("Level"u8, LogLevelNames.Long(record.Level));
        writer.WriteString("MessageTemplate"u8, record.Template.Text);

        _scratch.ResetWrittenCount();
        MessageRenderer.Render(_scratch, record, LogValues.Quoting.Quoted);
        writer.WriteString("RenderedMessage"u8, _scratch.WrittenSpan);
        if (record.Exception is { } exception)
        {
            writer.WriteString("Exception"u8, exception.ToString());
        }

        WriteProperties(writer, record);
        if (record.Template.HasFormats)
        {
            WriteRenderings(writer, record);
        }
        writer.WriteEndObject();
        writer.Flush();
        Utf8Output.Write(output, (byte)'\n');
    }

    private static void WriteProperties(Utf8JsonWriter writer, in LogRecord record)
    {
        writer.WriteStartObject("Properties"u8);
        IReadOnlyList<KeyValuePair<string, object?>> values = record.Values;
        for (int i = 0; i < values.Count; i++)
        {
            KeyValuePair<string, object?> pair = values[i];
            if (pair.Key == MessageTemplate.OriginalFormat)
            {
                continue;
            }
            writer.WritePropertyName(MessageTemplate.PropertyName(pair.Key));
            LogValues.WriteJson(writer, pair.Value);
        }
        EventIdProperty(writer, record.EventId);
        writer.WriteString("SourceContext"u8, record.Category);
        writer.WriteEndObject();
    }

    // Serilog.Extensions.Logging adds EventId when it has an id or a name, with only the parts it has.
    private static void EventIdProperty(Utf8JsonWriter writer, Microsoft.Extensions.Logging.EventId eventId)
    {
        if (eventId.Id == 0 && eventId.Name is null)
        {
            return;
        }
        writer.WriteStartObject("EventId"u8);
        if (eventId.Id != 0)
        {
            writer.WriteNumber("Id"u8, eventId.Id);
        }
        if (eventId.Name is { } name)
        {
            writer.WriteString("Name"u8, name);
        }
        writer.WriteEndObject();
    }

    private void WriteRenderings(Utf8JsonWriter writer, in LogRecord record)
    {
        writer.WriteStartObject("Renderings"u8);
        int hole = 0;
        foreach (MessageTemplate.Token token in record.Template.Tokens)
        {
            if (!token.IsHole)
            {
                continue;
            }
            if (record.TryGetValue(token, hole++, out object? value) && token.Format is { } format)
            {
                writer.WriteStartArray(token.Name!);
                writer.WriteStartObject();
                writer.WriteString("Format"u8, format);
                _scratch.ResetWrittenCount();
                LogValues.WriteText(_scratch, value, format, LogValues.Quoting.Quoted);
                writer.WriteString("Rendering"u8, _scratch.WrittenSpan);
                writer.WriteEndObject();
                writer.WriteEndArray();
            }
        }
        writer.WriteEndObject();
    }
}
