using Microsoft.Extensions.Logging;

namespace Ztunnel.Daemon.Logging;

/// <summary>One log event as the formatters see it: the MEL state is already split into template and values.</summary>
internal readonly struct LogRecord
{
    public required DateTimeOffset Timestamp { get; init; }
    public required LogLevel Level { get; init; }
    public required string Category { get; init; }
    public required EventId EventId { get; init; }
    public required MessageTemplate Template { get; init; }

    /// <summary>The named values of the message (MEL's state; "{OriginalFormat}" may be among them and is skipped).</summary>
    public required IReadOnlyList<KeyValuePair<string, object?>> Values { get; init; }

    public Exception? Exception { get; init; }

    /// <summary>The value a hole names, or false when the message has no such value (the hole is then written as is).</summary>
    public bool TryGetValue(MessageTemplate.Token hole, int holeIndex, out object? value)
    {
        IReadOnlyList<KeyValuePair<string, object?>> values = Values;
        string name = hole.Name!;
        // [LoggerMessage] state lists the values in the order of the holes: try that slot before scanning.
        if (holeIndex < values.Count && MessageTemplate.SameName(values[holeIndex].Key, name))
        {
            value = values[holeIndex].Value;
            return true;
        }
        for (int i = 0; i < values.Count; i++)
        {
            KeyValuePair<string, object?> pair = values[i];
            if (MessageTemplate.SameName(pair.Key, name))
            {
                value = pair.Value;
                return true;
            }
        }
        value = null;
        return false;
    }
}
