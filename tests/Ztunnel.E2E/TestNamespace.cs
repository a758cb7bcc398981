using System.Net;

namespace Ztunnel.E2E;

/// <summary>A named network namespace of a <see cref="TestTopology"/> and its address on the node bridge.</summary>
public sealed record TestNamespace(string Name, IPAddress Address)
{
    /// <summary>The namespace file, as a CNI runtime would pass it (<c>/var/run/netns/NAME</c>).</summary>
    public string Path => $"/var/run/netns/{Name}";

    public override string ToString() => $"{Name} ({Address})";
}
