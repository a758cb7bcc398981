namespace Ztunnel.Capture;

/// <summary>
/// The parts of an <c>iptables-save</c> dump that <see cref="PodRules"/> needs to stay idempotent: which
/// chains exist in which table, and how many copies of each rule line there are.
/// </summary>
internal sealed class IptablesState
{
    private readonly HashSet<(string Table, string Chain)> _chains = [];
    private readonly Dictionary<(string Table, string Rule), int> _rules = [];

    private IptablesState()
    {
    }

    public static IptablesState Parse(string save)
    {
        var state = new IptablesState();
        string table = "";
        foreach (string raw in save.Split('\n'))
        {
            string line = raw.Trim();
            if (line.StartsWith('*'))
            {
                table = line[1..];
            }
            else if (line.StartsWith(':'))
            {
                int space = line.IndexOf(' ', StringComparison.Ordinal);
                state._chains.Add((table, space < 0 ? line[1..] : line[1..space]));
            }
            else if (line.StartsWith("-A ", StringComparison.Ordinal))
            {
                state._rules[(table, line)] = state.Count(table, line) + 1;
            }
        }
        return state;
    }

    public bool HasChain(string table, string chain) => _chains.Contains((table, chain));

    /// <summary>Copies of exactly this <c>-A CHAIN ...</c> line in the table.</summary>
    public int Count(string table, string rule) => _rules.GetValueOrDefault((table, rule));
}
