using System.Net;
using Microsoft.Extensions.Logging;
using Ztunnel.Tls;

namespace Ztunnel.Authorization;

/// <summary>Authorization log events (ids 4000-4099). The proxy calls <see cref="Decision"/> after each evaluation.</summary>
internal static partial class AuthorizationLog
{
    /// <summary>Logs a deny (with the deciding policy and rule) and any dry-run findings; allows are silent.</summary>
    public static void Decision(ILogger logger, AuthorizationDecision decision, in AuthorizationRequest request)
    {
        if (!decision.Allowed)
        {
            Denied(logger, request.SourceIdentity, request.SourceIp, request.DestinationNamespace, request.DestinationIp, request.DestinationPort, decision);
        }
        foreach (string finding in decision.DryRunFindings)
        {
            DryRun(logger, request.SourceIdentity, request.DestinationIp, request.DestinationPort, finding);
        }
    }

    // Arguments are passed as objects so formatting (and Summary) only happens when the level is enabled.
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information,
        Message = "connection denied: {SourceIdentity} ({SourceIp}) -> {DestinationNamespace} {DestinationIp}:{DestinationPort}: {Decision}")]
    public static partial void Denied(ILogger logger, SpiffeId? sourceIdentity, IPAddress? sourceIp, string destinationNamespace, IPAddress destinationIp, int destinationPort, AuthorizationDecision decision);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information,
        Message = "dry-run: {SourceIdentity} -> {DestinationIp}:{DestinationPort}: {Finding}")]
    public static partial void DryRun(ILogger logger, SpiffeId? sourceIdentity, IPAddress destinationIp, int destinationPort, string finding);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "policy: {Warning}")]
    public static partial void PolicyWarning(ILogger logger, PolicyWarning warning);
}
