using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Hbone.Server;
using Ztunnel.Tls;

namespace Ztunnel.Tests.Hbone.Server;

/// <summary>A started <see cref="HboneServer"/> with one mTLS listener on 127.0.0.1:0, and clients for it.</summary>
internal sealed class ServerHarness : IAsyncDisposable
{
    public static readonly SpiffeId ServerId = TestPki.Id("server-ns", "server-sa");
    public static readonly SpiffeId ClientId = TestPki.Id("client-ns", "client-sa");

    private readonly List<TestH2Client> _clients = [];

    private ServerHarness(HboneServer server, IAsyncDisposable listener, HboneListenerInfo info)
    {
        Server = server;
        Listener = listener;
        Info = info;
    }

    public HboneServer Server { get; }
    public IAsyncDisposable Listener { get; }
    public HboneListenerInfo Info { get; }
    public IPEndPoint EndPoint => Info.LocalEndPoint;

    public static async Task<ServerHarness> StartAsync(IHboneRequestHandler handler)
    {
        var server = new HboneServer(handler, NullLoggerFactory.Instance);
        await server.StartAsync();
        var (handle, info) = AddListener(server, "server-ns/pod-a", ServerId);
        return new ServerHarness(server, handle, info);
    }

    public static (IAsyncDisposable Handle, HboneListenerInfo Info) AddListener(HboneServer server, string name, SpiffeId identity)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(128);
        var info = new HboneListenerInfo(name, (IPEndPoint)socket.LocalEndPoint!, TestPki.ServerContext(identity), tag: name);
        return (server.Listeners.Add(socket, info), info);
    }

    public Task<TestH2Client> ConnectAsync() => ConnectAsync(EndPoint, TestPki.ClientOptions(ClientId, ServerId));

    public async Task<TestH2Client> ConnectAsync(IPEndPoint endPoint, SslClientAuthenticationOptions? tls)
    {
        var client = await TestH2Client.ConnectAsync(endPoint, tls).WaitAsync(TimeSpan.FromSeconds(30));
        lock (_clients)
        {
            _clients.Add(client);
        }
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }
        await Server.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
    }
}
