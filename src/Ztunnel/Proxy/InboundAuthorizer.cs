using System.Net;
using Microsoft.Extensions.Logging;
using Ztunnel.Authorization;
using Ztunnel.Discovery;
using Ztunnel.Tls;

namespace Ztunnel.Proxy;

/// <summary>
/// Inbound authorization (DESIGN §7) for both inbound paths, with the same evaluator the CLI uses; and the
/// re-check of live connections when the policies change.
/// </summary>
internal sealed partial class InboundAuthorizer
{
    private static readonly IReadOnlyDictionary<string, string> NoLabels = new Dictionary<string, string>();
    private readonly ILogger _logger;
    private long _denied;

    public InboundAuthorizer(ILogger<InboundAuthorizer> logger)
    {
        _logger = logger;
    }

    /// <summary>Connections denied since start (both inbound paths, including policy re-checks).</summary>
    public long DeniedCount => Interlocked.Read(ref _denied);

    public AuthorizationDecision Authorize(MeshState state, ConnectionDescription connection)
    {
        Workload? destination = connection.DestinationWorkloadUid is null ? null : state.FindWorkloadByUid(connection.DestinationWorkloadUid);
        var request = new AuthorizationRequest(
            destination?.Namespace ?? connection.DestinationNamespace ?? "",
            destination?.Labels ?? NoLabels,
            connection.Destination.Address,
            connection.Destination.Port,
            connection.SourceIdentity,
            connection.Source.Address);
        AuthorizationDecision decision = AuthorizationEvaluator.Evaluate(state.Policies, request);
        if (!decision.Allowed)
        {
            Interlocked.Increment(ref _denied);
            if (_logger.IsEnabled(LogLevel.Information))
            {
                LogDenied(connection.Source, connection.SourceIdentity?.ToString() ?? "no identity", connection.Destination, decision);
            }
        }
        else if (decision.DryRunAllowed == false)
        {
            LogDryRunDeny(connection.Source, connection.Destination, decision.DryRunFindings);
        }
        return decision;
    }

    /// <summary>
    /// Re-evaluates every live inbound connection against <paramref name="state"/> and closes those now
    /// denied. Called after each state change; runs off the publishing thread.
    /// </summary>
    public int Recheck(MeshState state, ConnectionTracker connections)
    {
        int closed = 0;
        foreach (TrackedConnection connection in connections.Snapshot())
        {
            if (connection.Description.Direction == ConnectionDirection.Outbound)
            {
                continue;
            }
            AuthorizationDecision decision = Authorize(state, connection.Description);
            if (!decision.Allowed)
            {
                connection.Close("policy changed: " + decision.Summary, ConnectionFailure.Denied, decision.DecidingPolicy?.ToString());
                closed++;
            }
        }
        return closed;
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "Denied {Source} ({Identity}) -> {Destination}: {Decision}")]
    private partial void LogDenied(IPEndPoint source, string identity, IPEndPoint destination, AuthorizationDecision decision);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "Dry-run policy would deny {Source} -> {Destination}: {Findings}")]
    private partial void LogDryRunDeny(IPEndPoint source, IPEndPoint destination, IReadOnlyList<string> findings);
}
