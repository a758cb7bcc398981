using System.Globalization;
using System.Net;

namespace Ztunnel.LoadGen;

/// <summary><c>--name value</c> pairs; every getter names the option when its value is missing or malformed.</summary>
internal sealed class LoadGenArgs
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public LoadGenArgs(ReadOnlySpan<string> args)
    {
        for (int i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"expected '--option value', got '{args[i]}'");
            }
            _values[args[i][2..]] = args[i + 1];
        }
    }

    public IPEndPoint EndPoint(string name)
    {
        if (!_values.TryGetValue(name, out string? text))
        {
            throw new ArgumentException($"--{name} IP:PORT is required");
        }
        return IPEndPoint.TryParse(text, out IPEndPoint? endPoint) && endPoint.Port != 0
            ? endPoint
            : throw new ArgumentException($"--{name} '{text}' is not IP:PORT");
    }

    public int Int(string name, int defaultValue, int min = 1)
    {
        if (!_values.TryGetValue(name, out string? text))
        {
            return defaultValue;
        }
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value >= min
            ? value
            : throw new ArgumentException($"--{name} '{text}' is not a whole number >= {min}");
    }

    public TimeSpan Seconds(string name, double defaultSeconds)
    {
        if (!_values.TryGetValue(name, out string? text))
        {
            return TimeSpan.FromSeconds(defaultSeconds);
        }
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value >= 0
            ? TimeSpan.FromSeconds(value)
            : throw new ArgumentException($"--{name} '{text}' is not a number of seconds");
    }
}
