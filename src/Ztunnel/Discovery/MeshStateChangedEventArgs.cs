namespace Ztunnel.Discovery;

/// <summary>The snapshot that was replaced and the one now current.</summary>
internal sealed class MeshStateChangedEventArgs(MeshState previous, MeshState current) : EventArgs
{
    public MeshState Previous { get; } = previous;
    public MeshState Current { get; } = current;
}
