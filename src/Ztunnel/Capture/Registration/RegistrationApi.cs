using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Ztunnel.Admin;

namespace Ztunnel.Capture.Registration;

/// <summary>
/// The pod registration API: HTTP/1.1 + JSON on a unix socket, root-only. The CNI plugin, tests and the
/// demo all register pods through it.
/// <code>
/// POST   /v1/pods        body: PodRegistration      -> 200 PodStatus (ready) | 400 bad input | 500 PodStatus (failed)
/// GET    /v1/pods                                   -> 200 [PodStatus]
/// GET    /v1/pods/{uid}                             -> 200 PodStatus | 404
/// DELETE /v1/pods/{uid}                             -> 200 | 404
/// </code>
/// </summary>
public sealed class RegistrationApi : IAsyncDisposable
{
    private const string PodsPath = "/v1/pods";

    private readonly HttpServer _server;
    private readonly PodRegistry _registry;

    private RegistrationApi(HttpServer server, PodRegistry registry, string socketPath)
    {
        _server = server;
        _registry = registry;
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    public static async Task<RegistrationApi> StartAsync(string socketPath, PodRegistry registry, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        string? directory = Path.GetDirectoryName(socketPath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
        // A socket file left by a previous daemon would make bind fail; nobody else serves on our path.
        File.Delete(socketPath);

        RegistrationApi? api = null;
        HttpServer server = await HttpServer.StartAsync(
            "pod registration", new UnixDomainSocketEndPoint(socketPath), context => api!.HandleAsync(context), loggerFactory, cancellationToken);
        api = new RegistrationApi(server, registry, socketPath);
        // Registering a pod makes the daemon capture its traffic: root only.
        File.SetUnixFileMode(socketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return api;
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        File.Delete(SocketPath);
    }

    private async Task HandleAsync(HttpContext context)
    {
        string path = context.Request.Path.Value ?? "";
        string method = context.Request.Method;
        CancellationToken aborted = context.RequestAborted;

        if (path == PodsPath && HttpMethods.IsGet(method))
        {
            await WriteAsync(context, StatusCodes.Status200OK, _registry.List(), RegistrationJsonContext.Readable.IReadOnlyListPodStatus);
        }
        else if (path == PodsPath && HttpMethods.IsPost(method))
        {
            await AddAsync(context, aborted);
        }
        else if (path.StartsWith(PodsPath + "/", StringComparison.Ordinal) && path.Length > PodsPath.Length + 1)
        {
            string uid = Uri.UnescapeDataString(path[(PodsPath.Length + 1)..]);
            if (HttpMethods.IsGet(method))
            {
                PodStatus? status = _registry.Find(uid);
                if (status is null)
                {
                    await WriteErrorAsync(context, StatusCodes.Status404NotFound, $"pod {uid} is not registered");
                }
                else
                {
                    await WriteAsync(context, StatusCodes.Status200OK, status, RegistrationJsonContext.Readable.PodStatus);
                }
            }
            else if (HttpMethods.IsDelete(method))
            {
                bool removed = await _registry.RemoveAsync(uid, CancellationToken.None);
                context.Response.StatusCode = removed ? StatusCodes.Status200OK : StatusCodes.Status404NotFound;
            }
            else
            {
                await WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed, $"{method} is not supported on {path}");
            }
        }
        else
        {
            await WriteErrorAsync(context, StatusCodes.Status404NotFound, $"no such resource: {method} {path}");
        }
    }

    private async Task AddAsync(HttpContext context, CancellationToken aborted)
    {
        PodRegistration? pod;
        try
        {
            pod = await JsonSerializer.DeserializeAsync(context.Request.Body, RegistrationJsonContext.Readable.PodRegistration, aborted);
        }
        catch (JsonException ex)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"request body is not a pod registration: {ex.Message}");
            return;
        }
        catch (BadHttpRequestException ex)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, ex.Message);
            return;
        }
        string? invalid = pod is null ? "request body is empty" : pod.Validate();
        if (invalid is not null)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, invalid);
            return;
        }
        // Setup runs to the end even if the caller hangs up (a CNI plugin timing out): a half-applied
        // netns is worse than a finished one, and the runtime's retry of ADD is idempotent.
        PodStatus status = await _registry.AddAsync(pod!, CancellationToken.None);
        int code = status.State == PodState.Ready ? StatusCodes.Status200OK : StatusCodes.Status500InternalServerError;
        await WriteAsync(context, code, status, RegistrationJsonContext.Readable.PodStatus);
    }

    private static Task WriteErrorAsync(HttpContext context, int statusCode, string message) =>
        WriteAsync(context, statusCode, new ApiError(message), RegistrationJsonContext.Readable.ApiError);

    private static async Task WriteAsync<T>(HttpContext context, int statusCode, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, value, typeInfo, context.RequestAborted);
    }
}
