using Microsoft.Extensions.Logging;

namespace Ztunnel.Daemon.Logging;

/// <summary>
/// One category's logger. MEL hands it the state of a [LoggerMessage] method: a list of the named values with
/// the template last under "{OriginalFormat}"; the formatters render from those, not from MEL's formatted string.
/// No scopes: nothing in the daemon opens one.
/// </summary>
/// <param name="level">The run-time switch this category follows; null: none.</param>
/// <param name="alwaysFrom">Levels logged whatever the switch says (None: no such floor).</param>
internal sealed class DaemonLogger(string category, LogLevelSwitch? level, LogLevel alwaysFrom, LogOutput output, TimeProvider time) : ILogger
{
    // The template of this logger's last event: a category mostly logs the same [LoggerMessage] constant (the access
    // log its "connection complete"), so a reference check skips hashing a long template string per line.
    private const string StateTemplate = "{State:l}";

    private MessageTemplate? _last;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) =>
        logLevel != LogLevel.None && (logLevel >= alwaysFrom || (level?.IsEnabled(logLevel) ?? false));

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
            // Not a template's state (a hand-made Log call): the message is formatter's string, logged as Serilog
            // did, under a "State" value of the template "{State:l}", after whatever values the state had.
            values = StateValues(state as IReadOnlyList<KeyValuePair<string, object?>>, formatter(state, exception));
            template = MessageTemplate.Get(StateTemplate);
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

    private static KeyValuePair<string, object?>[] StateValues(IReadOnlyList<KeyValuePair<string, object?>>? state, string message)
    {
        int count = state?.Count ?? 0;
        var values = new KeyValuePair<string, object?>[count + 1];
        for (int i = 0; i < count; i++)
        {
            values[i] = state![i];
        }
        values[count] = new KeyValuePair<string, object?>("State", message);
        return values;
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
