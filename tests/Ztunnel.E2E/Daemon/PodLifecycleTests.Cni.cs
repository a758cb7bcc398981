using System.Diagnostics;
using Ztunnel.E2E.Mesh;

namespace Ztunnel.E2E.Daemon;

/// <summary>The real CNI plugin binary against a running daemon, as a container runtime calls it.</summary>
public sealed partial class PodLifecycleTests
{
    [Fact]
    public async Task CniPlugin_Add_CapturesThePod_Check_Passes_Del_ReleasesIt()
    {
        MeshPod pod = mesh.Outsider; // in no config: the daemon gives it namespace/default as identity
        string config = $$$"""
            {"cniVersion":"1.0.0","name":"e2e","type":"ztunnel","socketPath":"{{{mesh.RegistrationSocket('a')}}}",
             "prevResult":{"cniVersion":"1.0.0","ips":[{"address":"{{{pod.Address}}}/24"}]}}
            """;

        (int addExit, string addOut) = await RunCniAsync("ADD", pod, config);

        addExit.ShouldBe(0, addOut);
        addOut.ShouldContain($"{pod.Address}/24"); // the previous result, passed through
        try
        {
            (int checkExit, string checkOut) = await RunCniAsync("CHECK", pod, config);
            checkExit.ShouldBe(0, checkOut);
            int markB = mesh.DaemonB.LineCount;
            EchoReply reply = await new PodClient(mesh.Runner, pod.Netns).EchoAsync(mesh.AppB.EchoEndPoint, "via cni");
            reply.SeenClient.ShouldBe(pod.Address);
            await mesh.DaemonB.WaitForLogAsync($"InboundHbone {pod.Address}:", markB);
        }
        finally
        {
            (int delExit, string delOut) = await RunCniAsync("DEL", pod, config);
            delExit.ShouldBe(0, delOut);
        }
        (await PodInspection.CaptureRulesAsync(pod.Netns)).ShouldBeEmpty();
        (await PodInspection.ListeningPortsAsync(pod.Netns)).ShouldNotContain(port => DaemonPorts.Contains(port));
    }

    // The container runtime's side of CNI: environment variables, the network config on stdin, the result on stdout.
    private static async Task<(int ExitCode, string Stdout)> RunCniAsync(string command, MeshPod pod, string config)
    {
        var start = new ProcessStartInfo(ZtunnelBinary.Path, "cni")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["CNI_COMMAND"] = command;
        start.Environment["CNI_CONTAINERID"] = "sandbox-" + pod.Uid;
        start.Environment["CNI_NETNS"] = pod.Netns.Path;
        start.Environment["CNI_IFNAME"] = "eth0";
        start.Environment["CNI_PATH"] = "/opt/cni/bin";
        start.Environment["CNI_ARGS"] = $"K8S_POD_NAMESPACE={pod.Namespace};K8S_POD_NAME={pod.Name};K8S_POD_UID={pod.Uid}";
        using Process process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(config);
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await stdout + await stderr);
    }
}
