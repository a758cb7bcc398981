using Ztunnel.Hbone;
using Ztunnel.Hbone.Server;

namespace Ztunnel.Tests.Hbone.Server;

/// <summary>A request handler made of a delegate; records every request it saw.</summary>
internal sealed class TestHandler(Func<HboneRequest, CancellationToken, ValueTask<HboneAcceptResult>> accept) : IHboneRequestHandler
{
    private readonly List<HboneRequest> _requests = [];

    public IReadOnlyList<HboneRequest> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    public static TestHandler Echo() => new((_, _) => ValueTask.FromResult(HboneAcceptResult.Accept(new EchoSession())));

    public static TestHandler Run(Func<TunnelStream, CancellationToken, Task> run) =>
        new((_, _) => ValueTask.FromResult(HboneAcceptResult.Accept(new DelegateSession(run))));

    public ValueTask<HboneAcceptResult> AcceptAsync(HboneRequest request, CancellationToken cancellationToken)
    {
        lock (_requests)
        {
            _requests.Add(request);
        }
        return accept(request, cancellationToken);
    }
}

/// <summary>Echoes every byte back; half-closes after the client did.</summary>
internal sealed class EchoSession : IHboneSession
{
    public async Task RunAsync(TunnelStream tunnel, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await tunnel.ReadAsync(buffer, cancellationToken)) > 0)
        {
            await tunnel.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
        }
        await tunnel.CompleteWritesAsync(cancellationToken);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

internal sealed class DelegateSession(Func<TunnelStream, CancellationToken, Task> run) : IHboneSession
{
    public Task RunAsync(TunnelStream tunnel, CancellationToken cancellationToken) => run(tunnel, cancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
