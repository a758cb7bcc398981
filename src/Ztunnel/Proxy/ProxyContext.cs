using Microsoft.Extensions.Logging;
using Ztunnel.Capture;
using Ztunnel.Discovery;

namespace Ztunnel.Proxy;

/// <summary>What the three proxy paths share: the state, identity, netns access and bookkeeping.</summary>
internal sealed class ProxyContext
{
    public required StateStore State { get; init; }
    public required IWorkloadCertificates Certificates { get; init; }
    public required NetnsRunner Netns { get; init; }
    public required ConnectionTracker Connections { get; init; }
    public required InboundAuthorizer Authorizer { get; init; }
    public required string TrustDomain { get; init; }
    public required ILoggerFactory LoggerFactory { get; init; }
    public TimeProvider Time { get; init; } = TimeProvider.System;
    public ServiceEndpointPicker EndpointPicker { get; init; } = new();
    public IConnectionObserver Observer { get; init; } = NullConnectionObserver.Instance;

    /// <summary>How long a connect to an app or a peer may take before the client's connection is failed.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
