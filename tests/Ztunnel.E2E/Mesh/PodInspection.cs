using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Ztunnel.E2E.Mesh;

/// <summary>What an operator would look at inside a pod netns: our iptables lines, ip rules, listening ports.</summary>
public static class PodInspection
{
    /// <summary>
    /// Every <c>iptables-save</c> rule that mentions our chains (the jumps into them and their rules), each
    /// prefixed with its table ("nat -A OUTPUT -j ZTUNNEL_OUTPUT"): the same line may rightly be in two tables.
    /// </summary>
    public static async Task<string[]> CaptureRulesAsync(TestNamespace pod, bool ipv6 = false)
    {
        var rules = new List<string>();
        string table = "";
        foreach (string line in (await TestTopology.ExecAsync(pod, ipv6 ? "ip6tables-save" : "iptables-save")).Split('\n'))
        {
            if (line.StartsWith('*'))
            {
                table = line[1..];
            }
            else if (line.StartsWith("-A ", StringComparison.Ordinal) && line.Contains("ZTUNNEL", StringComparison.Ordinal))
            {
                rules.Add($"{table} {line}");
            }
        }
        return [.. rules];
    }

    /// <summary>The policy-routing rules for the TPROXY mark (<c>ip rule</c>, <c>ip -6 rule</c>).</summary>
    public static async Task<string[]> FwmarkRulesAsync(TestNamespace pod, bool ipv6 = false) =>
        [.. (await ProcessRunner.CheckedAsync("ip", "-n", pod.Name, ipv6 ? "-6" : "-4", "rule", "show")).Split('\n').Where(line => line.Contains("fwmark 0x111", StringComparison.Ordinal))];

    /// <summary>The TCP ports something listens on in the pod (<c>ss -ltn</c>).</summary>
    public static async Task<int[]> ListeningPortsAsync(TestNamespace pod)
    {
        var ports = new SortedSet<int>();
        foreach (string line in (await TestTopology.ExecAsync(pod, "ss", "-ltnH")).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // State Recv-Q Send-Q Local-Address:Port Peer-Address:Port
            string[] columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (columns.Length >= 4)
            {
                string local = columns[3];
                ports.Add(int.Parse(local[(local.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture));
            }
        }
        return [.. ports];
    }

    /// <summary>
    /// How many of <paramref name="processId"/>'s file descriptors refer to the pod's network namespace: an fd left
    /// open after the pod is gone would keep its whole network namespace alive.
    /// </summary>
    public static async Task<int> NamespaceHandlesAsync(int processId, TestNamespace pod)
    {
        string inode = (await ProcessRunner.CheckedAsync("stat", "-L", "-c", "%i", pod.Path)).Trim();
        // By inode: an fd opened through the bind mount reads back as its path, one from /proc as net:[inode].
        // An fd closed meanwhile only makes stat complain, hence no exit code check.
        (_, string inodes, _) = await ProcessRunner.RunAsync("sh", "-c", $"stat -L -c %i /proc/{processId}/fd/*");
        return inodes.Split('\n').Count(line => line.Trim() == inode);
    }

    /// <summary>True while <paramref name="address"/> is tentative (duplicate address detection running).</summary>
    public static async Task<bool> IsTentativeAsync(TestNamespace pod, IPAddress address) =>
        IsTentative(await ProcessRunner.CheckedAsync("ip", "-n", pod.Name, "-6", "addr", "show", "dev", "eth0"), address) ?? true;

    /// <summary>Waits, on the kernel's address events (<c>ip monitor</c>), until <paramref name="address"/> passed DAD.</summary>
    public static async Task WaitUntilNotTentativeAsync(TestNamespace pod, IPAddress address)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string argument in (string[])["-n", pod.Name, "-6", "monitor", "address"])
        {
            start.ArgumentList.Add(argument);
        }
        using Process monitor = Process.Start(start)!;
        try
        {
            // Watching before looking: a change between the two is still seen.
            if (!await IsTentativeAsync(pod, address))
            {
                return;
            }
            string? line;
            while ((line = await monitor.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30))) is not null)
            {
                if (IsTentative(line, address) == false)
                {
                    return;
                }
            }
            throw new InvalidOperationException($"ip monitor in {pod.Name} ended before {address} passed DAD");
        }
        finally
        {
            monitor.Kill();
        }
    }

    // null when the text does not mention the address.
    private static bool? IsTentative(string text, IPAddress address)
    {
        foreach (string line in text.Split('\n'))
        {
            if (line.Contains($" {address}/", StringComparison.Ordinal))
            {
                return line.Contains("tentative", StringComparison.Ordinal);
            }
        }
        return null;
    }
}
