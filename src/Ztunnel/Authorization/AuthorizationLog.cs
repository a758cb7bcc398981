using Microsoft.Extensions.Logging;

namespace Ztunnel.Authorization;

/// <summary>Authorization log events (ids 4000-4099). The proxy calls <see cref="Decision"/> after each evaluation.</summary>
internal static partial class AuthorizationLog
{
    /// <summary>Logs a deny (with the deciding policy and rule) and any dry-run findings; allows are silent.</summary>
    public static void Decision(ILogger logger, AuthorizationDecision decision, in AuthorizationRequest request)
    {
        if (!decision.Allowed && logger.IsEnabled(LogLevel.Information))
        {
            Denied(logger, request.SourceIdentity?.ToString() ?? "(no identity)", request.SourceIp?.ToString() ?? "-",
                request.DestinationNamespace, request.DestinationIp.ToString(), request.DestinationPort, decision.Summary);
        }
        if (decision.DryRunFindings.Count > 0 && logger.IsEnabled(LogLevel.Information))
        {
            foreach (string finding in decision.DryRunFindings)
            {
                DryRun(logger, request.SourceIdentity?.ToString() ?? "(no identity)", request.DestinationIp.ToString(), request.DestinationPort, finding);
            }
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information,
        Message = "connection denied: {SourceIdentity} ({SourceIp}) -> {DestinationNamespace} {DestinationIp}:{DestinationPort}: {Reason}")]
    public static partial void Denied(ILogger logger, string sourceIdentity, string sourceIp, string destinationNamespace, string destinationIp, int destinationPort, string reason);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information,
        Message = "dry-run: {SourceIdentity} -> {DestinationIp}:{DestinationPort}: {Finding}")]
    public static partial void DryRun(ILogger logger, string sourceIdentity, string destinationIp, int destinationPort, string finding);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "policy: {Warning}")]
    public static partial void PolicyWarning(ILogger logger, PolicyWarning warning);
}
