using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Capture.Registration;

namespace Ztunnel.Tests.Capture;

public sealed class RegistrationApiTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ztunnel-reg-").FullName;
    private readonly RecordingLifecycle _lifecycle = new();
    private PodRegistry _registry = null!;
    private RegistrationApi _api = null!;
    private RegistrationClient _client = null!;

    public Task InitializeAsync()
    {
        _registry = new PodRegistry(_lifecycle, NullLogger<PodRegistry>.Instance);
        _api = RegistrationApi.Start(Path.Combine(_dir, "run", "cni.sock"), _registry, NullLoggerFactory.Instance);
        _client = new RegistrationClient(_api.SocketPath);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _api.DisposeAsync();
        await _registry.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    internal static PodRegistration Pod(string uid = "uid-1", string ip = "10.0.0.5") => new()
    {
        Uid = uid, Name = "web-0", Namespace = "shop", ServiceAccount = "web", Netns = "/var/run/netns/pod-a", Ips = [ip],
    };

    [Fact]
    public async Task Add_ValidPod_IsSetUpAndListedReady()
    {
        var status = await _client.AddAsync(Pod());

        status.State.ShouldBe(PodState.Ready);
        _lifecycle.Started.ShouldContain(p => p.Uid == "uid-1");
        var list = await _client.ListAsync();
        list.Count.ShouldBe(1);
        list[0].Pod.Ips.ShouldBe(["10.0.0.5"]);
    }

    [Fact]
    public async Task Add_SameUidTwice_KeepsOneEntry()
    {
        await _client.AddAsync(Pod());
        await _client.AddAsync(Pod());

        (await _client.ListAsync()).Count.ShouldBe(1);
    }

    [Fact]
    public async Task Add_LifecycleFails_ReportsReasonAndFailedState()
    {
        _lifecycle.FailWith = "iptables-restore: line 3 failed";

        var ex = await Should.ThrowAsync<RegistrationException>(() => _client.AddAsync(Pod()));

        ex.Message.ShouldContain("iptables-restore: line 3 failed");
        (await _client.GetAsync("uid-1"))!.State.ShouldBe(PodState.Failed);
    }

    [Theory]
    [InlineData("{\"uid\":\"u\",\"name\":\"n\",\"namespace\":\"ns\",\"netns\":\"/x\",\"ips\":[\"not-an-ip\"]}", "'not-an-ip' is not an IP address")]
    [InlineData("{\"uid\":\"u\",\"name\":\"n\",\"namespace\":\"ns\",\"netns\":\"relative\",\"ips\":[\"10.0.0.1\"]}", "netns must be an absolute path")]
    [InlineData("{\"name\":\"n\"}", "uid is required")]
    [InlineData("{not json", "not a pod registration")]
    public async Task Add_BadBody_Is400WithTheReason(string body, string reason)
    {
        string response = await RawRequestAsync("POST", "/v1/pods", body);

        response.ShouldStartWith("HTTP/1.1 400");
        response.ShouldContain(reason);
        _lifecycle.Started.ShouldBeEmpty();
    }

    [Fact]
    public async Task Delete_RegisteredPod_StopsItAndForgetsIt()
    {
        await _client.AddAsync(Pod());

        (await _client.RemoveAsync("uid-1")).ShouldBeTrue();

        _lifecycle.Stopped.ShouldContain(p => p.Uid == "uid-1");
        (await _client.ListAsync()).ShouldBeEmpty();
        (await _client.RemoveAsync("uid-1")).ShouldBeFalse();
    }

    [Theory]
    [InlineData("PUT", "/v1/pods", "405", "Allow: GET, HEAD, POST")]
    [InlineData("POST", "/v1/pods/uid-1", "405", "Allow: GET, HEAD, DELETE")]
    [InlineData("GET", "/v2/pods", "404", "no such resource: GET /v2/pods")]
    public async Task WrongMethodOrPath_IsAnsweredWithJsonError(string method, string path, string status, string detail)
    {
        string response = await RawRequestAsync(method, path, "");

        response.ShouldStartWith($"HTTP/1.1 {status}");
        response.ShouldContain(detail);
        response.ShouldContain("Content-Type: application/json");
    }

    [Fact]
    public async Task ChunkedBody_Is411_AskingForAContentLength()
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(_api.SocketPath));
        await socket.SendAsync(Encoding.ASCII.GetBytes("POST /v1/pods HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"));
        using var reader = new StreamReader(new NetworkStream(socket));

        string response = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));

        response.ShouldStartWith("HTTP/1.1 411");
        response.ShouldContain("send the body with a Content-Length");
        _lifecycle.Started.ShouldBeEmpty();
    }

    [Fact]
    public void Socket_IsOnlyAccessibleToItsOwner()
    {
        File.GetUnixFileMode(_api.SocketPath).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    private async Task<string> RawRequestAsync(string method, string path, string body)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(_api.SocketPath));
        byte[] payload = Encoding.UTF8.GetBytes(body);
        string head = $"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {payload.Length}\r\nConnection: close\r\n\r\n";
        await socket.SendAsync(Encoding.ASCII.GetBytes(head).Concat(payload).ToArray());
        using var stream = new NetworkStream(socket);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    internal sealed class RecordingLifecycle : IPodLifecycle
    {
        public List<PodRegistration> Started { get; } = [];
        public List<PodRegistration> Stopped { get; } = [];
        public string? FailWith { get; set; }

        public Task StartAsync(PodRegistration pod, CancellationToken cancellationToken)
        {
            if (FailWith is not null)
            {
                throw new InvalidOperationException(FailWith);
            }
            lock (Started)
            {
                Started.Add(pod);
            }
            return Task.CompletedTask;
        }

        public Task StopAsync(PodRegistration pod, CancellationToken cancellationToken)
        {
            lock (Stopped)
            {
                Stopped.Add(pod);
            }
            return Task.CompletedTask;
        }
    }
}
