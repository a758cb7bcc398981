namespace Ztunnel.Hbone.Hpack;

/// <summary>
/// Decodes HPACK header blocks (RFC 7541) for one HTTP/2 connection; keeps that connection's dynamic
/// table, so use one instance per connection and feed it every header block in order.
/// Allocation-free in steady state: indexed fields and raw literals are handed to the sink straight
/// from the table or the block, Huffman strings are decoded into a reusable scratch buffer.
/// Memory is bounded by 2 x the table size (table bytes) + the header list cap (scratch).
/// Not thread-safe (a connection reads its frames on one task anyway).
/// </summary>
internal sealed partial class HpackDecoder
{
    private readonly DynamicTable _table;
    private readonly int _maxHeaderListSize;

    /// <param name="maxTableSize">Our SETTINGS_HEADER_TABLE_SIZE: the most a dynamic table size update may ask for.</param>
    /// <param name="maxHeaderListSize">
    /// Cap on one decoded header list, counting name + value + 32 per field (RFC 9113 §6.5.2). This is what
    /// stops a block that references one big table entry thousands of times (an "HPACK bomb").
    /// </param>
    public HpackDecoder(int maxTableSize = 4096, int maxHeaderListSize = HboneDefaults.MaxHeaderListSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxTableSize);
        ArgumentOutOfRangeException.ThrowIfNegative(maxHeaderListSize);
        _table = new DynamicTable(maxTableSize);
        _maxHeaderListSize = maxHeaderListSize;
    }

    /// <summary>This connection's dynamic table (for tests and diagnostics).</summary>
    internal DynamicTable DynamicTable => _table;

    /// <summary>
    /// Decodes ONE complete header block (a HEADERS fragment plus its CONTINUATION fragments, joined by the
    /// caller) and hands each field to <paramref name="sink"/> in order.
    /// Throws <see cref="HpackException"/> on malformed input; the connection must then be closed with
    /// COMPRESSION_ERROR since the dynamic table may be half updated.
    /// </summary>
    public void Decode(ReadOnlySpan<byte> headerBlock, IHeaderSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        int pos = 0;
        int listSize = 0;
        int fields = 0;
        while (pos < headerBlock.Length)
        {
            byte first = headerBlock[pos];
            if ((first & 0x80) != 0)
            {
                // Indexed header field (RFC 7541 §6.1).
                int index = ReadInteger(headerBlock, ref pos, 7);
                GetEntry(index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value);
                AddToListSize(ref listSize, name.Length + value.Length);
                sink.OnHeader(name, value);
            }
            else if ((first & 0xC0) == 0x40)
            {
                // Literal header field with incremental indexing (RFC 7541 §6.2.1).
                DecodeLiteral(headerBlock, ref pos, 6, addToTable: true, ref listSize, sink);
            }
            else if ((first & 0xE0) == 0x20)
            {
                // Dynamic table size update (RFC 7541 §6.3): only at the start of a block (§4.2).
                int position = pos;
                int size = ReadInteger(headerBlock, ref pos, 5);
                if (fields != 0)
                {
                    throw new HpackException($"Dynamic table size update (to {size}) at byte {position}, after {fields} header field(s); RFC 7541 §4.2 allows it only at the start of a header block");
                }

                if (size > _table.MaxCapacity)
                {
                    throw new HpackException($"Dynamic table size update to {size} is above the limit of {_table.MaxCapacity} we advertised (SETTINGS_HEADER_TABLE_SIZE)");
                }

                _table.SetCapacity(size);
                continue;
            }
            else
            {
                // Literal header field without indexing (0000) or never indexed (0001) (RFC 7541 §6.2.2, §6.2.3).
                DecodeLiteral(headerBlock, ref pos, 4, addToTable: false, ref listSize, sink);
            }

            fields++;
        }
    }

    private void DecodeLiteral(ReadOnlySpan<byte> block, ref int pos, int prefixBits, bool addToTable, ref int listSize, IHeaderSink sink)
    {
        int nameIndex = ReadInteger(block, ref pos, prefixBits);
        int budget = _maxHeaderListSize - listSize - DynamicTable.EntryOverhead;
        if (budget < 0)
        {
            throw ListTooLarge(listSize + DynamicTable.EntryOverhead);
        }

        int scratchUsed = 0;
        ReadOnlySpan<byte> name;
        if (nameIndex == 0)
        {
            name = ReadString(block, ref pos, budget, ref scratchUsed, "name");
        }
        else
        {
            GetEntry(nameIndex, out name, out _);
            if (name.Length > budget)
            {
                throw ListTooLarge(listSize + DynamicTable.EntryOverhead + name.Length);
            }
        }

        ReadOnlySpan<byte> value = ReadString(block, ref pos, budget - name.Length, ref scratchUsed, "value");
        AddToListSize(ref listSize, name.Length + value.Length);
        if (addToTable)
        {
            if (nameIndex > StaticTable.Count)
            {
                // The name lives in the dynamic table, which the insert may evict or move (RFC 7541 §4.4).
                Span<byte> copy = Scratch(scratchUsed, name.Length);
                name.CopyTo(copy);
                name = copy[..name.Length];
            }

            _table.Add(name, value);
        }

        sink.OnHeader(name, value);
    }

    private void GetEntry(int index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        if (index == 0)
        {
            throw new HpackException("Header table index 0 is not valid (RFC 7541 §6.1)");
        }

        if (index <= StaticTable.Count)
        {
            name = StaticTable.GetName(index);
            value = StaticTable.GetValue(index);
            return;
        }

        int dynamicIndex = index - StaticTable.Count;
        if (dynamicIndex > _table.Count)
        {
            throw new HpackException($"Header table index {index} is beyond the dynamic table, which holds {_table.Count} entries (valid indices are 1..{StaticTable.Count + _table.Count})");
        }

        name = _table.GetName(dynamicIndex);
        value = _table.GetValue(dynamicIndex);
    }

    private void AddToListSize(ref int listSize, int fieldLength)
    {
        // fieldLength <= 2 x the largest block or table entry, so this cannot overflow an int.
        int newSize = listSize + fieldLength + DynamicTable.EntryOverhead;
        if (newSize > _maxHeaderListSize || newSize < 0)
        {
            throw ListTooLarge(newSize);
        }

        listSize = newSize;
    }

    private HpackException ListTooLarge(long atLeast) =>
        new($"Decoded header list is at least {atLeast} bytes, above the limit of {_maxHeaderListSize} (SETTINGS_MAX_HEADER_LIST_SIZE, name + value + 32 per field)");
}
