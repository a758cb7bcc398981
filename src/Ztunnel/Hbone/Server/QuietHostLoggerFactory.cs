using Microsoft.Extensions.Logging;

namespace Ztunnel.Hbone.Server;

/// <summary>
/// The caller's logger factory, with ASP.NET Core's per-request chatter held to warnings: at Information
/// the hosting layer logs two lines per CONNECT ("Request starting/finished"), Kestrel one per rejected
/// tunnel ("completed without reading the entire request body"), and the host "Now listening on". Every
/// tunnel would cost log lines; ours (<c>Ztunnel.*</c>) and Kestrel's connection/TLS/HTTP/2 categories pass
/// through unchanged.
/// </summary>
internal sealed class QuietHostLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    private static readonly string[] Chatty =
    [
        "Microsoft.AspNetCore.Hosting.Diagnostics",
        "Microsoft.AspNetCore.Server.Kestrel", // exact name only: the general Kestrel category
        "Microsoft.Hosting.Lifetime",
    ];

    public ILogger CreateLogger(string categoryName)
    {
        var logger = inner.CreateLogger(categoryName);
        return Array.IndexOf(Chatty, categoryName) >= 0 ? new WarningsOnly(logger) : logger;
    }

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    // The caller owns the inner factory.
    public void Dispose() { }

    private sealed class WarningsOnly(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
