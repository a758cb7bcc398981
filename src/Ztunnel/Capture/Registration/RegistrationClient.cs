using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace Ztunnel.Capture.Registration;

/// <summary>Client of the registration API over its unix socket (used by the CNI plugin, tests and the demo).</summary>
public sealed class RegistrationClient : IDisposable
{
    private readonly HttpClient _http;

    public RegistrationClient(string socketPath, TimeSpan? timeout = null)
    {
        SocketPath = socketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        // The host name is never resolved: the connect callback above always dials the socket.
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://ztunnel/"), Timeout = timeout ?? TimeSpan.FromSeconds(60) };
    }

    public string SocketPath { get; }

    /// <summary>Registers a pod; throws <see cref="RegistrationException"/> with the daemon's reason when it was not set up.</summary>
    public async Task<PodStatus> AddAsync(PodRegistration pod, CancellationToken cancellationToken = default)
    {
        // With a Content-Length: the daemon refuses chunked request bodies (411).
        using var body = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(pod, RegistrationJsonContext.Default.PodRegistration));
        body.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await SendAsync(() => _http.PostAsync("v1/pods", body, cancellationToken));
        if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.InternalServerError)
        {
            var status = await response.Content.ReadFromJsonAsync(RegistrationJsonContext.Default.PodStatus, cancellationToken)
                ?? throw new RegistrationException($"daemon at {SocketPath} sent an empty answer");
            return status.State == PodState.Ready ? status : throw new RegistrationException($"pod {pod} was not set up: {status.Error}");
        }
        throw await ErrorAsync(response, cancellationToken);
    }

    /// <summary>Deletes a pod; returns false when the daemon did not know it.</summary>
    public async Task<bool> RemoveAsync(string uid, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(() => _http.DeleteAsync("v1/pods/" + Uri.EscapeDataString(uid), cancellationToken));
        return response.StatusCode switch
        {
            HttpStatusCode.OK => true,
            HttpStatusCode.NotFound => false,
            _ => throw await ErrorAsync(response, cancellationToken),
        };
    }

    public async Task<PodStatus?> GetAsync(string uid, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(() => _http.GetAsync("v1/pods/" + Uri.EscapeDataString(uid), cancellationToken));
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw await ErrorAsync(response, cancellationToken);
        }
        return await response.Content.ReadFromJsonAsync(RegistrationJsonContext.Default.PodStatus, cancellationToken);
    }

    public async Task<IReadOnlyList<PodStatus>> ListAsync(CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(() => _http.GetAsync("v1/pods", cancellationToken));
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw await ErrorAsync(response, cancellationToken);
        }
        return await response.Content.ReadFromJsonAsync(RegistrationJsonContext.Default.IReadOnlyListPodStatus, cancellationToken) ?? [];
    }

    public void Dispose() => _http.Dispose();

    private async Task<HttpResponseMessage> SendAsync(Func<Task<HttpResponseMessage>> send)
    {
        try
        {
            return await send();
        }
        catch (HttpRequestException ex)
        {
            throw new RegistrationException($"cannot reach the ztunnel daemon at {SocketPath}: {ex.InnerException?.Message ?? ex.Message}", ex, daemonUnreachable: true);
        }
    }

    private static async Task<RegistrationException> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string detail;
        try
        {
            detail = (await response.Content.ReadFromJsonAsync(RegistrationJsonContext.Default.ApiError, cancellationToken))?.Error ?? "";
        }
        catch (JsonException)
        {
            detail = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        return new RegistrationException($"daemon answered {(int)response.StatusCode}: {detail}");
    }
}
