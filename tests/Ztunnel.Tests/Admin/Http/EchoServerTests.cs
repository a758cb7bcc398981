namespace Ztunnel.Tests.Admin.Http;

/// <summary>Base of test classes whose every test gets a fresh <see cref="EchoServer"/> with the default limits.</summary>
public abstract class EchoServerTests : IAsyncLifetime
{
    private EchoServer? _echo;

    private protected EchoServer Echo => _echo ?? throw new InvalidOperationException("the echo server starts in InitializeAsync");

    public Task InitializeAsync()
    {
        _echo = EchoServer.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_echo is not null)
        {
            await _echo.DisposeAsync();
        }
    }
}
