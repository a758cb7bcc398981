using System.Net;
using Ztunnel.Tls;

namespace Ztunnel.Authorization;

/// <summary>
/// One inbound connection to authorize. <see cref="DestinationPort"/> is the workload's target port (what
/// <c>ports</c> and <c>portLevelMtls</c> refer to). <see cref="SourceIdentity"/> is null for plaintext.
/// </summary>
internal readonly record struct AuthorizationRequest(
    string DestinationNamespace,
    IReadOnlyDictionary<string, string> DestinationLabels,
    IPAddress DestinationIp,
    int DestinationPort,
    SpiffeId? SourceIdentity,
    IPAddress? SourceIp);
