using Microsoft.Extensions.Logging;

namespace Ztunnel.Daemon.Logging;

/// <summary>Serilog's names for the MEL levels, which the lines keep (users grep and parse them).</summary>
internal static class LogLevelNames
{
    /// <summary>The text format's four letters (Serilog's {Level:u4}).</summary>
    public static ReadOnlySpan<byte> Short(LogLevel level) => level switch
    {
        LogLevel.Trace => "VERB"u8,
        LogLevel.Debug => "DBUG"u8,
        LogLevel.Information => "INFO"u8,
        LogLevel.Warning => "WARN"u8,
        LogLevel.Error => "EROR"u8,
        _ => "FATL"u8,
    };

    /// <summary>The JSON "Level" field (Serilog's LogEventLevel names).</summary>
    public static ReadOnlySpan<byte> Long(LogLevel level) => level switch
    {
        LogLevel.Trace => "Verbose"u8,
        LogLevel.Debug => "Debug"u8,
        LogLevel.Information => "Information"u8,
        LogLevel.Warning => "Warning"u8,
        LogLevel.Error => "Error"u8,
        _ => "Fatal"u8,
    };
}
