using Microsoft.Extensions.Logging;

namespace Ztunnel.Daemon.Logging;

/// <summary>
/// The daemon's minimum log level, changeable at run time (POST /logging). Read on every log call, so it is
/// one volatile int: a change is seen by the next call on any thread, without a lock.
/// </summary>
internal sealed class LogLevelSwitch(LogLevel minimumLevel)
{
    private volatile int _minimum = (int)minimumLevel;

    public LogLevel MinimumLevel
    {
        get => (LogLevel)_minimum;
        set => _minimum = (int)value;
    }

    public bool IsEnabled(LogLevel level) => level != LogLevel.None && (int)level >= _minimum;
}
