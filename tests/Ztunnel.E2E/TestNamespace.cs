using System.Net;

namespace Ztunnel.E2E;

/// <summary>A named network namespace of a <see cref="TestTopology"/> and its addresses on the node bridge.</summary>
public sealed record TestNamespace(string Name, IPAddress Address, IPAddress Address6)
{
    /// <summary>The namespace file, as a CNI runtime would pass it (<c>/var/run/netns/NAME</c>).</summary>
    public string Path => $"/var/run/netns/{Name}";

    public override string ToString() => $"{Name} ({Address}, {Address6})";
}
