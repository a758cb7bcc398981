using Microsoft.Extensions.Logging;
using Ztunnel.Tls;

namespace Ztunnel.Identity;

internal static partial class CertificateManagerLog
{
    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "issued certificate for {Identity}, valid until {NotAfter:u}, refresh at {RefreshAt:u}")]
    public static partial void Issued(ILogger logger, SpiffeId identity, DateTimeOffset notAfter, DateTimeOffset refreshAt);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "certificate for {Identity} failed: {Reason}; retry in {RetryIn}; {Fallback}")]
    public static partial void Failed(ILogger logger, SpiffeId identity, string reason, TimeSpan retryIn, string fallback, Exception exception);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Debug, Message = "identity {Identity} no longer used by a local workload; certificate dropped")]
    public static partial void Removed(ILogger logger, SpiffeId identity);
}
