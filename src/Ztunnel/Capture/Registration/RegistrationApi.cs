using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Ztunnel.Admin.Http;

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

    private RegistrationApi(HttpServer server, string socketPath)
    {
        _server = server;
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    /// <summary>Serves the API on <paramref name="socketPath"/>; throws <see cref="IOException"/> when it cannot listen there.</summary>
    public static RegistrationApi Start(string socketPath, PodRegistry registry, ILoggerFactory loggerFactory)
    {
        string? directory = Path.GetDirectoryName(socketPath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
        // A socket file left by a previous daemon would make bind fail; nobody else serves on our path.
        File.Delete(socketPath);

        var handler = new Handler(registry);
        HttpServer server = HttpServer.Start("pod registration", new UnixDomainSocketEndPoint(socketPath), handler.HandleAsync, loggerFactory);
        // Registering a pod makes the daemon capture its traffic: root only.
        File.SetUnixFileMode(socketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return new RegistrationApi(server, socketPath);
    }

    /// <summary>Stops taking requests; one running (a pod being set up) gets until <paramref name="drain"/> to answer.</summary>
    public async Task StopAsync(TimeSpan drain)
    {
        await _server.StopAsync(drain);
        File.Delete(SocketPath);
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        File.Delete(SocketPath);
    }

    private sealed class Handler(PodRegistry registry)
    {
        public async ValueTask HandleAsync(HttpRequest request, HttpResponse response, CancellationToken stopping)
        {
            string path = request.Path;
            string method = request.Method;
            if (path == PodsPath)
            {
                if (request.IsGetOrHead)
                {
                    response.WriteJson(200, registry.List(), RegistrationJsonContext.Readable.IReadOnlyListPodStatus);
                }
                else if (method == "POST")
                {
                    await AddAsync(request, response);
                }
                else
                {
                    MethodNotAllowed(response, "GET, HEAD, POST", method, path);
                }
            }
            else if (path.StartsWith(PodsPath + "/", StringComparison.Ordinal) && path.Length > PodsPath.Length + 1)
            {
                string uid = Uri.UnescapeDataString(path[(PodsPath.Length + 1)..]);
                if (request.IsGetOrHead)
                {
                    if (registry.Find(uid) is { } status)
                    {
                        response.WriteJson(200, status, RegistrationJsonContext.Readable.PodStatus);
                    }
                    else
                    {
                        WriteError(response, 404, $"pod {uid} is not registered");
                    }
                }
                else if (method == "DELETE")
                {
                    response.StatusCode = await registry.RemoveAsync(uid, CancellationToken.None) ? 200 : 404;
                }
                else
                {
                    MethodNotAllowed(response, "GET, HEAD, DELETE", method, path);
                }
            }
            else
            {
                WriteError(response, 404, $"no such resource: {method} {path}");
            }
        }

        private async Task AddAsync(HttpRequest request, HttpResponse response)
        {
            PodRegistration? pod;
            try
            {
                pod = request.Body.IsEmpty ? null : JsonSerializer.Deserialize(request.Body.Span, RegistrationJsonContext.Readable.PodRegistration);
            }
            catch (JsonException ex)
            {
                WriteError(response, 400, $"request body is not a pod registration: {ex.Message}");
                return;
            }
            string? invalid = pod is null ? "request body is empty" : pod.Validate();
            if (invalid is not null)
            {
                WriteError(response, 400, invalid);
                return;
            }
            // Setup runs to the end even if the caller hangs up (a CNI plugin timing out): a half-applied
            // netns is worse than a finished one, and the runtime's retry of ADD is idempotent.
            PodStatus status = await registry.AddAsync(pod!, CancellationToken.None);
            response.WriteJson(status.State == PodState.Ready ? 200 : 500, status, RegistrationJsonContext.Readable.PodStatus);
        }

        private static void MethodNotAllowed(HttpResponse response, string allow, string method, string path)
        {
            response.Allow = allow;
            WriteError(response, 405, $"{method} is not supported on {path}");
        }

        private static void WriteError(HttpResponse response, int statusCode, string message) =>
            response.WriteJson(statusCode, new ApiError(message), RegistrationJsonContext.Readable.ApiError);
    }
}
