using System.Net;
using Ztunnel.Capture.Registration;

namespace Ztunnel.E2E.Mesh;

/// <summary>A pod of a <see cref="MeshFixture"/>: its netns, node, and what the CNI plugin would register for it.</summary>
public sealed record MeshPod(string Uid, string Name, string Namespace, string ServiceAccount, char Node, TestNamespace Netns)
{
    public IPAddress Address => Netns.Address;

    public IPAddress Address6 => Netns.Address6;

    public PodRegistration Registration => new()
    {
        Uid = Uid,
        Name = Name,
        Namespace = Namespace,
        ServiceAccount = ServiceAccount,
        Netns = Netns.Path,
        Ips = [Address.ToString(), Address6.ToString()],
    };

    public override string ToString() => $"{Name} ({Address}, node {Node})";
}
