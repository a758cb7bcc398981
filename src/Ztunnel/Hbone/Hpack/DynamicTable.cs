namespace Ztunnel.Hbone.Hpack;

/// <summary>
/// The HPACK dynamic table (RFC 7541 §2.3.2, §4) of one decoder, with no allocation after construction.
/// Entry bytes (name then value) live back to back in one byte array in insertion order; eviction
/// drops the oldest by moving the start offset. When an insert does not fit at the end, the live bytes
/// are moved to the front. The array is twice the advertised table size, so that copy happens at most
/// once per table-size of inserted bytes (amortised O(1) per byte). Entry metadata sits in a ring
/// sized for the most entries the size limit allows (each entry costs at least 32 octets).
/// </summary>
internal sealed class DynamicTable
{
    /// <summary>Per-entry overhead in the size accounting (RFC 7541 §4.1).</summary>
    public const int EntryOverhead = 32;

    /// <summary>Largest table we will advertise; far above any real use, and keeps 2 x size well inside an int.</summary>
    public const int MaxSupportedCapacity = 1 << 24;

    private readonly byte[] _bytes;
    private readonly Entry[] _entries;
    private int _first;       // ring index of the oldest entry
    private int _count;
    private int _bytesStart;  // offset of the oldest entry's bytes in _bytes
    private int _bytesEnd;    // offset just past the newest entry's bytes

    public DynamicTable(int maxCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxCapacity);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxCapacity, MaxSupportedCapacity);
        MaxCapacity = maxCapacity;
        Capacity = maxCapacity;
        _bytes = new byte[maxCapacity * 2];
        _entries = new Entry[(maxCapacity / EntryOverhead) + 1];
    }

    /// <summary>The limit we advertised (SETTINGS_HEADER_TABLE_SIZE); the encoder may not exceed it.</summary>
    public int MaxCapacity { get; }

    /// <summary>The size limit currently in force, as last set by a dynamic table size update.</summary>
    public int Capacity { get; private set; }

    /// <summary>Size of the table in RFC 7541 §4.1 terms: sum of name + value + 32 over the entries.</summary>
    public int Size { get; private set; }

    public int Count => _count;

    /// <summary>Name of the entry at dynamic <paramref name="index"/>: 1 is the newest (RFC 7541 §2.3.3).</summary>
    public ReadOnlySpan<byte> GetName(int index)
    {
        ref readonly Entry e = ref At(index);
        return _bytes.AsSpan(e.Offset, e.NameLength);
    }

    /// <summary>Value of the entry at dynamic <paramref name="index"/>: 1 is the newest.</summary>
    public ReadOnlySpan<byte> GetValue(int index)
    {
        ref readonly Entry e = ref At(index);
        return _bytes.AsSpan(e.Offset + e.NameLength, e.ValueLength);
    }

    /// <summary>Applies a dynamic table size update (RFC 7541 §4.3, §6.3); the caller checked it against <see cref="MaxCapacity"/>.</summary>
    public void SetCapacity(int capacity)
    {
        Capacity = capacity;
        EvictUntilFits(0);
    }

    /// <summary>
    /// Adds an entry as the newest (RFC 7541 §4.4). <paramref name="name"/> and <paramref name="value"/> must not
    /// point into this table: evicting or compacting could overwrite them.
    /// </summary>
    public void Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        long entrySize = (long)name.Length + value.Length + EntryOverhead;
        if (entrySize > Capacity)
        {
            // An entry larger than the table empties it and is not added; this is not an error (§4.4).
            EvictUntilFits(Capacity);
            return;
        }

        int length = name.Length + value.Length;
        EvictUntilFits((int)entrySize);
        if (_bytesEnd + length > _bytes.Length)
        {
            // Live bytes <= Capacity - entrySize, so after moving them to the front the entry fits.
            int live = _bytesEnd - _bytesStart;
            _bytes.AsSpan(_bytesStart, live).CopyTo(_bytes);
            for (int i = 0; i < _count; i++)
            {
                _entries[(_first + i) % _entries.Length].Offset -= _bytesStart;
            }

            _bytesStart = 0;
            _bytesEnd = live;
        }

        name.CopyTo(_bytes.AsSpan(_bytesEnd));
        value.CopyTo(_bytes.AsSpan(_bytesEnd + name.Length));
        _entries[(_first + _count) % _entries.Length] = new Entry(_bytesEnd, name.Length, value.Length);
        _count++;
        _bytesEnd += length;
        Size += (int)entrySize;
    }

    private void EvictUntilFits(int incoming)
    {
        while (_count > 0 && Size + incoming > Capacity)
        {
            ref Entry oldest = ref _entries[_first];
            Size -= oldest.NameLength + oldest.ValueLength + EntryOverhead;
            _first = (_first + 1) % _entries.Length;
            _count--;
            _bytesStart = _count == 0 ? 0 : _entries[_first].Offset;
        }

        if (_count == 0)
        {
            _bytesStart = 0;
            _bytesEnd = 0;
        }
    }

    private ref readonly Entry At(int index)
    {
        if ((uint)(index - 1) >= (uint)_count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The dynamic table has {_count} entries");
        }

        // Index 1 is the newest: the last one in insertion order.
        return ref _entries[(_first + _count - index) % _entries.Length];
    }

    private struct Entry(int offset, int nameLength, int valueLength)
    {
        public int Offset = offset;
        public readonly int NameLength = nameLength;
        public readonly int ValueLength = valueLength;
    }
}
