using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ztunnel.Admin;

/// <summary>
/// A bare Kestrel HTTP/1.1 server on one TCP address with one request handler: the admin, metrics and readiness
/// endpoints (DESIGN §2). No routing framework, no hosting defaults.
/// </summary>
internal sealed class HttpServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HttpServer(WebApplication app, string name, IPEndPoint localEndPoint)
    {
        _app = app;
        Name = name;
        LocalEndPoint = localEndPoint;
    }

    public string Name { get; }

    /// <summary>Where the server listens (the real port when started on port 0).</summary>
    public IPEndPoint LocalEndPoint { get; }

    public static async Task<HttpServer> StartAsync(string name, IPEndPoint address, RequestDelegate handler, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        builder.WebHost.UseKestrelCore().ConfigureKestrel(options =>
        {
            options.Listen(address);
            options.Limits.MaxRequestBodySize = 64 * 1024;
            options.AddServerHeader = false;
        });
        WebApplication app = builder.Build();
        app.Run(handler);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException)
        {
            await app.DisposeAsync();
            throw new IOException($"cannot serve the {name} endpoint on {address}: {ex.Message}", ex);
        }
        return new HttpServer(app, name, BoundEndPoint(app, address));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static IPEndPoint BoundEndPoint(WebApplication app, IPEndPoint requested)
    {
        ICollection<string>? addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        foreach (string address in addresses ?? [])
        {
            // "http://127.0.0.1:43567" or "http://[::]:15020"
            if (Uri.TryCreate(address, UriKind.Absolute, out Uri? uri))
            {
                return new IPEndPoint(requested.Address, uri.Port);
            }
        }
        return requested;
    }
}
