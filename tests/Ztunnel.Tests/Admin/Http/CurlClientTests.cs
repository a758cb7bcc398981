using System.Diagnostics;

namespace Ztunnel.Tests.Admin.Http;

/// <summary>curl, an independent HTTP/1.1 client, against the server: keep-alive, HTTP/1.0, HEAD, 100-continue.</summary>
public sealed class CurlClientTests : EchoServerTests
{
    private string Url => $"http://{Echo.Server.LocalEndPoint}";

    [Fact]
    public async Task TwoUrls_ShareOneConnection()
    {
        (string output, string trace) = await CurlAsync("-sv", $"{Url}/one?level=a", $"{Url}/two?level=b");

        output.ShouldContain("GET /one query=level=a");
        output.ShouldContain("GET /two query=level=b");
        trace.ShouldContain("Re-using existing connection");
    }

    [Fact]
    public async Task Http10_IsServed()
    {
        (string output, _) = await CurlAsync("-s", "--http1.0", $"{Url}/old");

        output.ShouldStartWith("GET /old ");
    }

    [Fact]
    public async Task Head_ShowsTheLengthOfTheBody()
    {
        (string output, _) = await CurlAsync("-sI", $"{Url}/big");

        output.ShouldStartWith("HTTP/1.1 200 OK");
        output.ShouldContain("Content-Length: 100000");
    }

    [Fact]
    public async Task PostWithExpectContinue_GetsContinue_ThenTheAnswer()
    {
        (string output, string trace) = await CurlAsync("-sv", "-H", "Expect: 100-continue", "--data-binary", "registration", $"{Url}/v1/pods");

        trace.ShouldContain("HTTP/1.1 100 Continue");
        output.ShouldBe("POST /v1/pods query= level=(none) x-test=(none) body=registration");
    }

    private static async Task<(string Output, string Trace)> CurlAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("--max-time");
        start.ArgumentList.Add("30");
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using Process curl = Process.Start(start)!;
        Task<string> output = curl.StandardOutput.ReadToEndAsync();
        Task<string> trace = curl.StandardError.ReadToEndAsync();
        await curl.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        curl.ExitCode.ShouldBe(0, await trace);
        return (await output, await trace);
    }
}
