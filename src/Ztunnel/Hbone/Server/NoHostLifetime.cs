using Microsoft.Extensions.Hosting;

namespace Ztunnel.Hbone.Server;

/// <summary>
/// Replaces the host's console lifetime: the daemon owns SIGTERM and Ctrl+C (stop accepting, GOAWAY, drain);
/// an embedded HBONE server must not stop itself on them or print "press Ctrl+C".
/// </summary>
internal sealed class NoHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
