using Microsoft.Extensions.Logging;

namespace Ztunnel.Daemon.Logging;

/// <summary>
/// One category's logger. MEL hands it the state of a [LoggerMessage] method: a list of the named values with
/// the template last under "{OriginalFormat}"; the formatters render from those, not from MEL's formatted string.
/// No scopes: nothing in the daemon opens one.
/// </summary>
internal sealed class DaemonLogger(string category, LogLevelSwitch? level, LogOutput output, TimeProvider time) : ILogger
{
    // The template of this logger's last event: a category mostly logs the same [LoggerMessage] constant (the access
    // log its "connection complete"), so a reference check skips hashing a long template string per line.
    private MessageTemplate? _last;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) =>
        level?.IsEnabled(logLevel) ?? logLevel is >= LogLevel.Warning and < LogLevel.None;   // null: a "Microsoft" category

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }
        IReadOnlyList<KeyValuePair<string, object?>> values;
        MessageTemplate template;
        if (state is IReadOnlyList<KeyValuePair<string, object?>> list && OriginalFormat(list) is { } original)
        {
            values = list;
            MessageTemplate? last = _last;
            if (last is null || !ReferenceEquals(last.Text, original))
            {
                _last = last = MessageTemplate.Get(original);
            }
            template = last;
        }
        else
        {
            values = [];
            template = MessageTemplate.Literal(formatter(state, exception));
        }
        output.Write(new LogRecord
        {
            Timestamp = time.GetUtcNow(),
            Level = logLevel,
            Category = category,
            EventId = eventId,
            Template = template,
            Values = values,
            Exception = exception,
        });
    }

    private static string? OriginalFormat(IReadOnlyList<KeyValuePair<string, object?>> values)
    {
        for (int i = values.Count - 1; i >= 0; i--)   // MEL puts it last
        {
            KeyValuePair<string, object?> pair = values[i];
            if (pair.Key == MessageTemplate.OriginalFormat)
            {
                return pair.Value as string;
            }
        }
        return null;
    }
}
