using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Text;

namespace Ztunnel.E2E.Mesh;

/// <summary>
/// tcpdump on one interface of a namespace, writing every TCP packet to a pcap file as it is captured
/// (<c>-U</c>), and a reader of that file: what went over the wire, as an observer on the link sees it.
/// </summary>
public sealed class PacketCapture : IAsyncDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly string _file;

    private PacketCapture(Process process, string file)
    {
        _process = process;
        _file = file;
    }

    /// <summary>Starts tcpdump in <paramref name="ns"/> on <paramref name="device"/> and waits until it captures.</summary>
    public static async Task<PacketCapture> StartAsync(TestNamespace ns, string device, string file)
    {
        var start = new ProcessStartInfo("ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // -s 0: whole packets; -U: each packet written as it arrives, so the file can be read while capturing.
        foreach (string argument in (string[])["netns", "exec", ns.Name, "tcpdump", "-i", device, "-s", "0", "-U", "-n", "-w", file, "tcp"])
        {
            start.ArgumentList.Add(argument);
        }
        var capture = new PacketCapture(Process.Start(start)!, file);
        try
        {
            // tcpdump prints "listening on ..." on stderr once the capture is open.
            string? line;
            while ((line = await capture._process.StandardError.ReadLineAsync().WaitAsync(Guard)) is not null)
            {
                if (line.Contains("listening on", StringComparison.Ordinal))
                {
                    _ = capture._process.StandardError.ReadToEndAsync();
                    return capture;
                }
            }
            throw new InvalidOperationException($"tcpdump on {device} in {ns.Name} exited without capturing");
        }
        catch
        {
            await capture.DisposeAsync();
            throw;
        }
    }

    /// <summary>The raw bytes of the capture file so far.</summary>
    public byte[] ReadFile()
    {
        using var stream = new FileStream(_file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>The TCP/IPv4 packets captured so far (a packet half-written at the end of the file is left out).</summary>
    public IReadOnlyList<CapturedPacket> Packets() => Parse(ReadFile());

    /// <summary>True when <paramref name="text"/> appears anywhere in the captured bytes.</summary>
    public bool Contains(string text) => ReadFile().AsSpan().IndexOf(Encoding.ASCII.GetBytes(text)) >= 0;

    /// <summary>
    /// Waits until the captured packets satisfy <paramref name="condition"/> (tcpdump writes each packet as it
    /// sees it; the file is re-read on every change of its length).
    /// </summary>
    public async Task WaitUntilAsync(Func<IReadOnlyList<CapturedPacket>, bool> condition, string what)
    {
        using var timeout = new CancellationTokenSource(Guard);
        using var watcher = new FileSystemWatcher(Path.GetDirectoryName(_file)!, Path.GetFileName(_file)) { NotifyFilter = NotifyFilters.Size | NotifyFilters.LastWrite };
        var changed = new SemaphoreSlim(0);
        watcher.Changed += (_, _) => changed.Release();
        watcher.EnableRaisingEvents = true;
        while (!condition(Packets()))
        {
            try
            {
                // The periodic re-check covers a change that landed between the read and the watch.
                await changed.WaitAsync(TimeSpan.FromSeconds(1), timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"the capture never showed {what}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync().WaitAsync(Guard);
        }
        _process.Dispose();
    }

    /// <summary>Parses a pcap file (little-endian, microsecond or nanosecond, Ethernet) into its TCP/IPv4 packets.</summary>
    public static IReadOnlyList<CapturedPacket> Parse(ReadOnlySpan<byte> file)
    {
        var packets = new List<CapturedPacket>();
        if (file.Length < 24)
        {
            return packets;
        }
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(file);
        if (magic is not (0xa1b2c3d4 or 0xa1b23c4d) || BinaryPrimitives.ReadUInt32LittleEndian(file[20..]) != 1)
        {
            throw new InvalidDataException($"not a little-endian Ethernet pcap file (magic 0x{magic:x8})");
        }
        int offset = 24;
        while (offset + 16 <= file.Length)
        {
            int captured = (int)BinaryPrimitives.ReadUInt32LittleEndian(file[(offset + 8)..]);
            if (offset + 16 + captured > file.Length)
            {
                break;
            }
            ReadOnlySpan<byte> frame = file.Slice(offset + 16, captured);
            offset += 16 + captured;
            // Ethernet II, IPv4, TCP.
            if (frame.Length < 14 + 20 || BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != 0x0800)
            {
                continue;
            }
            ReadOnlySpan<byte> ip = frame[14..];
            int ipHeader = (ip[0] & 0x0f) * 4;
            int ipLength = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
            if (ip[9] != 6 || ip.Length < ipHeader + 20)
            {
                continue;
            }
            ReadOnlySpan<byte> tcp = ip[ipHeader..Math.Min(ip.Length, ipLength)];
            int tcpHeader = (tcp[12] >> 4) * 4;
            packets.Add(new CapturedPacket(
                new IPEndPoint(new IPAddress(ip.Slice(12, 4)), BinaryPrimitives.ReadUInt16BigEndian(tcp)),
                new IPEndPoint(new IPAddress(ip.Slice(16, 4)), BinaryPrimitives.ReadUInt16BigEndian(tcp[2..])),
                Math.Max(0, tcp.Length - tcpHeader)));
        }
        return packets;
    }
}

/// <summary>One captured TCP segment: its endpoints and how many payload bytes it carried.</summary>
public sealed record CapturedPacket(IPEndPoint Source, IPEndPoint Destination, int PayloadLength);
