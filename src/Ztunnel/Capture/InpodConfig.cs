using Ztunnel.Hbone;

namespace Ztunnel.Capture;

/// <summary>
/// The numbers the in-pod capture is built on (DESIGN §2, §3), the same as Istio's ztunnel and istio-cni
/// so a pod set up by either one behaves alike.
/// </summary>
internal static class InpodConfig
{
    /// <summary>nat OUTPUT REDIRECT target: the app's outbound connections.</summary>
    public const int OutboundPort = 15001;

    /// <summary>mangle PREROUTING TPROXY target: inbound plaintext to the pod.</summary>
    public const int InboundPlaintextPort = 15006;

    /// <summary>Inbound HBONE, reached directly; never diverted.</summary>
    public const int InboundHbonePort = HboneDefaults.Port;

    /// <summary>SO_MARK on every socket the daemon owns in a pod netns (1337); no rule captures it.</summary>
    public const uint DaemonMark = 0x539;

    /// <summary>Mark of TPROXY-diverted packets and of the app's replies to the daemon; routed by table 100.</summary>
    public const uint TproxyMark = 0x111;

    /// <summary>Only these bits of the fwmark are ours; the rest belong to whoever else marks packets.</summary>
    public const uint MarkMask = 0xfff;

    /// <summary>Policy routing table holding <c>local default dev lo</c>.</summary>
    public const int RouteTable = 100;

    /// <summary>Priority of our <c>ip rule</c>: just before the main table's 32766, as istio-cni does.</summary>
    public const int RulePriority = 32764;

    /// <summary>Connection backlog of the pod listeners.</summary>
    public const int ListenBacklog = 1024;

    /// <summary>True for the ports of the daemon's own listeners: a target there would be a self-call.</summary>
    public static bool IsDaemonPort(int port) =>
        port is OutboundPort or InboundPlaintextPort or InboundHbonePort;
}
