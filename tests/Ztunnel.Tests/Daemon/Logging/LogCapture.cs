using System.Text;
using Microsoft.Extensions.Logging;
using Ztunnel.Daemon;
using Ztunnel.Discovery;

namespace Ztunnel.Tests.Daemon.Logging;

/// <summary>The daemon's log pipeline writing into memory instead of stderr.</summary>
internal sealed class LogCapture : IDisposable
{
    private readonly MemoryStream _output = new();

    public LogCapture(AccessLogFormat format, LogLevel level = LogLevel.Trace)
    {
        Logging = new DaemonLogging(level, format, _output, new FixedTime());
    }

    public DaemonLogging Logging { get; }

    public string Text => Encoding.UTF8.GetString(_output.ToArray());

    public string[] Lines => Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public ILogger Logger(string category = "Ztunnel.Test") => Logging.Factory.CreateLogger(category);

    public void Dispose() => Logging.Dispose();
}
