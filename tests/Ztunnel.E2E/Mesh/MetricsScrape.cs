using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Ztunnel.Capture;

namespace Ztunnel.E2E.Mesh;

/// <summary>
/// One scrape of a daemon's Prometheus endpoint (<c>/metrics</c> on port 15020 of its node netns, reached
/// with a socket created in that netns), and sums over the samples of a metric whose labels match.
/// </summary>
public sealed class MetricsScrape
{
    private const int MetricsPort = 15020;

    private readonly string[] _lines;

    private MetricsScrape(string text)
    {
        Text = text;
        _lines = text.Split('\n');
    }

    public string Text { get; }

    internal static async Task<MetricsScrape> FetchAsync(NetnsRunner runner, TestNamespace node)
    {
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                Socket socket = await runner.CreateConnectingSocketAsync(node.Path, AddressFamily.InterNetwork, mark: 0, transparentSource: null);
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, MetricsPort), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        return new MetricsScrape(await http.GetStringAsync(new Uri($"http://127.0.0.1:{MetricsPort}/metrics")));
    }

    /// <summary>
    /// The sum of every sample of <paramref name="metric"/> whose label block contains each of
    /// <paramref name="labels"/> (written as in the exposition: <c>response_flags="DENY"</c>); 0 when none.
    /// </summary>
    public double Sum(string metric, params string[] labels)
    {
        double sum = 0;
        foreach (string line in _lines)
        {
            if (!line.StartsWith(metric + "{", StringComparison.Ordinal) && !line.StartsWith(metric + " ", StringComparison.Ordinal))
            {
                continue;
            }
            int valueStart = line.LastIndexOf(' ') + 1;
            string series = line[..valueStart];
            if (labels.All(label => series.Contains(label, StringComparison.Ordinal)))
            {
                sum += double.Parse(line[valueStart..], CultureInfo.InvariantCulture);
            }
        }
        return sum;
    }
}
