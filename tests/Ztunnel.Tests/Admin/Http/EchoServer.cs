using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Admin.Http;

namespace Ztunnel.Tests.Admin.Http;

/// <summary>
/// An <see cref="HttpServer"/> on 127.0.0.1:0 whose handler echoes what it was given. "/fail" throws; "/gate"
/// waits for <see cref="OpenGate"/> (a request in flight during a stop); "/big" answers 100 000 bytes.
/// </summary>
internal sealed class EchoServer : IAsyncDisposable
{
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _atGate = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private EchoServer(HttpServerOptions? options)
    {
        Server = HttpServer.Start("echo", new IPEndPoint(IPAddress.Loopback, 0), HandleAsync, NullLoggerFactory.Instance, options);
    }

    public HttpServer Server { get; }

    /// <summary>Completes when a "/gate" request is waiting in the handler.</summary>
    public Task AtGate => _atGate.Task;

    public static EchoServer Start(HttpServerOptions? options = null) => new(options);

    public Task<RawHttpConnection> ConnectAsync() => RawHttpConnection.ConnectAsync(Server.LocalEndPoint);

    public void OpenGate() => _gate.TrySetResult();

    public async ValueTask DisposeAsync()
    {
        OpenGate();
        await Server.DisposeAsync();
    }

    private async ValueTask HandleAsync(HttpRequest request, HttpResponse response, CancellationToken stopping)
    {
        switch (request.Path)
        {
            case "/fail":
                throw new InvalidOperationException("handler exploded");
            case "/gate":
                _atGate.TrySetResult();
                await _gate.Task.WaitAsync(stopping);
                break;
            case "/big":
                response.Text(200, new string('x', 100_000));
                return;
        }
        var text = new StringBuilder();
        text.Append(request.Method).Append(' ').Append(request.Path).Append(" query=").Append(request.Query)
            .Append(" level=").Append(request.QueryValue("level") ?? "(none)")
            .Append(" x-test=").Append(request.Header("X-Test") ?? "(none)")
            .Append(" body=").Append(Encoding.UTF8.GetString(request.Body.Span));
        response.Text(200, text.ToString());
    }
}
