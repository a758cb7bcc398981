namespace Ztunnel.Daemon;

/// <summary>
/// Runtime settings the daemon chooses for itself, before it opens its first socket. Each one is an
/// environment variable the .NET runtime reads lazily, so an operator's own value (set in the pod spec)
/// always wins; docs/performance.md has the measurements behind each.
/// </summary>
internal static class RuntimeTuning
{
    /// <summary>
    /// Socket completions run their continuation on the epoll thread that saw them instead of queueing it
    /// to a thread-pool worker. Every read of a relayed chunk used to cost a hand-off (a wake-up and a
    /// context switch); in make bench this cut context switches per MB relayed from ~35 to ~20, CPU per new
    /// connection by ~10% and request/response p50 by ~15 µs. Safe here because nothing on the data path
    /// blocks a thread: locks are short, writes into HTTP/2 output never wait, and there is no
    /// sync-over-async. Read by System.Net.Sockets when the first asynchronous socket operation starts.
    /// </summary>
    internal const string InlineSocketCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Applies the defaults the environment does not already set. Call first thing in `ztunnel run`.</summary>
    public static void Apply()
    {
        if (Environment.GetEnvironmentVariable(InlineSocketCompletions) is null)
        {
            Environment.SetEnvironmentVariable(InlineSocketCompletions, "1");
        }
    }
}
