namespace Ztunnel.Hbone.Hpack;

/// <summary>Construction of the decoding state machine from the code table.</summary>
internal static partial class Huffman
{
    // Transition entry layout: bits 0-7 next state, bits 8-15 emitted symbol, then the flags.
    private const uint Emit = 1u << 16;
    private const uint Fail = 1u << 17;

    // _paddingDepth[state]: 0 if the string may end in this state (the root, or a run of at most
    // 7 one-bits from it), NotAllOnes if the pending bits contain a zero, else the number of one-bits (> 7).
    private const byte NotAllOnes = 0xFF;

    private const int StateCount = 256; // a full binary tree with 257 leaves has 256 internal nodes
    private const int LeafFlag = 0x1000;

    private static readonly uint[] _transitions = new uint[StateCount * 16];
    private static readonly byte[] _paddingDepth = new byte[StateCount];

    static Huffman()
    {
        // children[node * 2 + bit]: an internal node id, or LeafFlag | symbol.
        var children = new int[StateCount * 2];
        var depth = new int[StateCount];
        var allOnes = new bool[StateCount];
        allOnes[0] = true;
        int nodeCount = 1;
        ReadOnlySpan<uint> codes = HuffmanTable.Codes;
        ReadOnlySpan<byte> lengths = HuffmanTable.Lengths;
        for (int symbol = 0; symbol <= HuffmanTable.Eos; symbol++)
        {
            int node = 0;
            for (int i = lengths[symbol] - 1; i > 0; i--)
            {
                int bit = (int)(codes[symbol] >> i) & 1;
                int child = children[(node * 2) + bit];
                if (child == 0)
                {
                    child = nodeCount++;
                    children[(node * 2) + bit] = child;
                    depth[child] = depth[node] + 1;
                    allOnes[child] = allOnes[node] && bit == 1;
                }

                node = child;
            }

            children[(node * 2) + (int)(codes[symbol] & 1)] = LeafFlag | symbol;
        }

        for (int state = 0; state < StateCount; state++)
        {
            _paddingDepth[state] = !allOnes[state] ? NotAllOnes : depth[state] <= 7 ? (byte)0 : (byte)depth[state];
            for (int nibble = 0; nibble < 16; nibble++)
            {
                int node = state;
                uint entry = 0;
                for (int i = 3; i >= 0; i--)
                {
                    int child = children[(node * 2) + ((nibble >> i) & 1)];
                    if ((child & LeafFlag) != 0)
                    {
                        int symbol = child & ~LeafFlag;
                        entry |= symbol == HuffmanTable.Eos ? Fail : Emit | ((uint)symbol << 8);
                        node = 0;
                    }
                    else
                    {
                        node = child;
                    }
                }

                _transitions[(state * 16) + nibble] = entry | (uint)node;
            }
        }
    }
}
