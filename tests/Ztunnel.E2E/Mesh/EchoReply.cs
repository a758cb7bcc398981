using System.Net;

namespace Ztunnel.E2E.Mesh;

/// <summary>What a client got from a <see cref="PodServer"/> echo port: who answered, the client address it saw, the echo.</summary>
public sealed record EchoReply(string Server, IPAddress SeenClient, string Echoed)
{
    public static EchoReply Parse(string answer, IPEndPoint target)
    {
        int newline = answer.IndexOf('\n', StringComparison.Ordinal);
        string[] greeting = newline < 0 ? [] : answer[..newline].Split(' ');
        if (greeting.Length != 2 || !IPAddress.TryParse(greeting[1], out IPAddress? seen))
        {
            throw new InvalidDataException($"{target} did not answer with a greeting 'NAME CLIENT-IP': '{answer}'");
        }
        return new EchoReply(greeting[0], seen, answer[(newline + 1)..]);
    }
}
