using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>
/// A map loaded in the kernel. It owns its file descriptor; dispose it to release the map (a pinned
/// map lives on in bpffs). Keys and values travel as raw bytes (<see cref="Span{T}"/>) or as unmanaged
/// structs of exactly the map's sizes.
/// </summary>
public sealed unsafe class BpfMap : IDisposable
{
    private BpfMap(FileDescriptor fd, MapInfo info)
    {
        Handle = fd;
        Info = info;
    }

    /// <summary>The map's file descriptor.</summary>
    public FileDescriptor Handle { get; }

    /// <summary>What the kernel reports about the map, read when it was created or opened.</summary>
    public MapInfo Info { get; }

    /// <summary>The map type.</summary>
    public MapType Type => Info.Type;

    /// <summary>Key size in bytes.</summary>
    public int KeySize => (int)Info.KeySize;

    /// <summary>Value size in bytes, as user space sees it: for per-CPU maps, one slot of 8-byte aligned size per possible CPU.</summary>
    public int ValueSize => IsPerCpu ? RoundUp8((int)Info.ValueSize) * PossibleCpus.Count : (int)Info.ValueSize;

    /// <summary>The maximum number of entries.</summary>
    public uint MaxEntries => Info.MaxEntries;

    /// <summary>True for the per-CPU map types, whose values hold one slot per possible CPU.</summary>
    public bool IsPerCpu => Info.Type is MapType.PerCpuArray or MapType.PerCpuHash;

    /// <summary>Creates a map from <paramref name="spec"/> and writes its <see cref="MapSpec.Contents"/>.</summary>
    public static BpfMap Create(MapSpec spec)
    {
        var attr = new MapCreateAttr
        {
            MapType = (uint)spec.Type,
            KeySize = spec.KeySize,
            ValueSize = spec.ValueSize,
            MaxEntries = spec.MaxEntries,
            MapFlags = (uint)spec.Flags,
        };
        BpfSyscall.CopyObjectName(spec.KernelName, attr.MapName);
        var result = BpfSyscall.TryInvoke(BpfCommand.MapCreate, ref attr, out var errno);
        if (result < 0)
            throw CreateError(spec, errno);

        var map = FromFd(new FileDescriptor((int)result, ownsHandle: true));
        try
        {
            foreach (var (key, value) in spec.Contents)
                map.Update(key, value);
            if (spec.Freeze)
                map.Freeze();
            return map;
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    private static BpfException CreateError(MapSpec spec, int errno)
    {
        if (errno != Errno.EINVAL)
            return Errno.ToException($"create map {spec}", errno);
        // EINVAL says only that some attribute is wrong; name the rule that this spec breaks.
        var hint = spec.Type switch
        {
            MapType.LpmTrie when (spec.Flags & MapFlags.NoPrealloc) == 0 => "an LPM trie needs MapFlags.NoPrealloc",
            MapType.LpmTrie when spec.KeySize is < 5 or > 260 => "an LPM trie key is a u32 prefix length followed by 1 to 256 bytes of data (key size 5 to 260)",
            MapType.Array or MapType.PerCpuArray or MapType.ReuseportSockArray or MapType.SockMap when spec.KeySize != 4 => "its key must be 4 bytes (a u32 index)",
            MapType.SockMap or MapType.SockHash or MapType.ReuseportSockArray when spec.ValueSize is not (4 or 8) => "its value must be 4 or 8 bytes (8 to read socket cookies back)",
            _ when spec.KeySize == 0 => "the key size must not be 0",
            _ when spec.ValueSize == 0 => "the value size must not be 0",
            _ when spec.MaxEntries == 0 => "max entries must not be 0",
            _ => "check the key size, value size, max entries and flags for this map type",
        };
        return new BpfException($"create map {spec}: EINVAL: {hint}", errno, BpfErrorReason.InvalidArgument);
    }

    /// <summary>Wraps a map file descriptor, taking ownership of it, and reads the map's info.</summary>
    public static BpfMap FromFd(FileDescriptor fd)
    {
        try
        {
            return new BpfMap(fd, MapInfo.Read(fd));
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>Opens the map pinned at <paramref name="path"/>.</summary>
    public static BpfMap OpenPinned(string path) => FromFd(BpfSyscall.OpenPinned(path, "map"));

    /// <summary>
    /// Opens the map pinned at <paramref name="path"/> for lookups only (<c>BPF_F_RDONLY</c>): the kernel then checks
    /// only read permission on the pin, so a pin of mode 0640 opens for its group. Updates through it fail with EPERM.
    /// </summary>
    public static BpfMap OpenPinnedReadOnly(string path) => FromFd(BpfSyscall.OpenPinned(path, "map", BpfSyscall.FileFlagReadOnly));

    /// <summary>Opens a map by its kernel id.</summary>
    public static BpfMap OpenById(uint id)
    {
        var attr = new GetIdAttr { Id = id };
        return FromFd(BpfSyscall.InvokeForFd(BpfCommand.MapGetFdById, ref attr, $"open map id {id}"));
    }

    /// <summary>
    /// Opens the map pinned at <paramref name="path"/> if it matches <paramref name="spec"/>, or creates
    /// it and pins it there. A pinned map of another shape is an <see cref="BpfErrorReason.Incompatible"/> error.
    /// </summary>
    public static BpfMap OpenOrCreatePinned(string path, MapSpec spec)
    {
        if (File.Exists(path))
            return OpenPinnedCompatible(path, spec);
        var map = Create(spec);
        try
        {
            map.Pin(path);
            return map;
        }
        catch (BpfException exception) when (exception.Reason == BpfErrorReason.AlreadyExists)
        {
            // Another process pinned one between our check and our pin: use theirs, if it fits.
            map.Dispose();
            return OpenPinnedCompatible(path, spec);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    private static BpfMap OpenPinnedCompatible(string path, MapSpec spec)
    {
        var existing = OpenPinned(path);
        try
        {
            existing.CheckCompatible(spec);
            return existing;
        }
        catch
        {
            existing.Dispose();
            throw;
        }
    }

    /// <summary>Throws <see cref="BpfErrorReason.Incompatible"/> unless this map has the type, sizes and flags of <paramref name="spec"/>.</summary>
    public void CheckCompatible(MapSpec spec)
    {
        var differences = new List<string>(5);
        if (Info.Type != spec.Type) differences.Add($"type {Info.Type}, want {spec.Type}");
        if (Info.KeySize != spec.KeySize) differences.Add($"key size {Info.KeySize}, want {spec.KeySize}");
        if (Info.ValueSize != spec.ValueSize) differences.Add($"value size {Info.ValueSize}, want {spec.ValueSize}");
        if (Info.MaxEntries != spec.MaxEntries) differences.Add($"max entries {Info.MaxEntries}, want {spec.MaxEntries}");
        // The kernel adds BPF_F_RDONLY_PROG to frozen .rodata maps on its own; compare the rest.
        var flagsMask = ~(uint)MapFlags.ReadOnlyProgram;
        if ((Info.Flags & flagsMask) != ((uint)spec.Flags & flagsMask)) differences.Add($"flags {(MapFlags)Info.Flags}, want {spec.Flags}");
        if (differences.Count > 0)
            throw new BpfException($"map '{Info.Name}' (id {Info.Id}) is incompatible with {spec.Name}: {string.Join(", ", differences)}",
                0, BpfErrorReason.Incompatible);
    }

    /// <summary>Reads the map's info again, with its current memory use (<see cref="MapInfo.MemlockBytes"/>).</summary>
    public MapInfo RefreshInfo() => MapInfo.Read(Handle);

    /// <summary>Pins the map at <paramref name="path"/> on bpffs.</summary>
    public void Pin(string path) => BpfSyscall.Pin(Handle, path, $"map '{Info.Name}'");

    /// <summary>Freezes the map: user space can no longer write it (BPF_MAP_FREEZE).</summary>
    public void Freeze()
    {
        var attr = new SingleFdAttr { Value = (uint)Handle.Value };
        BpfSyscall.Invoke(BpfCommand.MapFreeze, ref attr, $"freeze map '{Info.Name}'");
    }

    /// <summary>Looks up <paramref name="key"/>; returns false if it is missing.</summary>
    public bool TryLookup(ReadOnlySpan<byte> key, Span<byte> value)
    {
        CheckSizes(key, value.Length);
        fixed (byte* keyPointer = key)
        fixed (byte* valuePointer = value)
        {
            var attr = new MapElemAttr { MapFd = (uint)Handle.Value, Key = (ulong)keyPointer, ValueOrNextKey = (ulong)valuePointer };
            if (BpfSyscall.TryInvoke(BpfCommand.MapLookupElem, ref attr, out var errno) >= 0)
                return true;
            if (errno == Errno.ENOENT)
                return false;
            throw Errno.ToException($"lookup in map '{Info.Name}'", errno);
        }
    }

    /// <summary>Looks up <paramref name="key"/> and returns a copy of its value, or null if it is missing.</summary>
    public byte[]? Lookup(ReadOnlySpan<byte> key)
    {
        var value = new byte[ValueSize];
        return TryLookup(key, value) ? value : null;
    }

    /// <summary>Creates or replaces the entry for <paramref name="key"/>, as <paramref name="flags"/> allow.</summary>
    public void Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        CheckSizes(key, value.Length);
        fixed (byte* keyPointer = key)
        fixed (byte* valuePointer = value)
        {
            var attr = new MapElemAttr { MapFd = (uint)Handle.Value, Key = (ulong)keyPointer, ValueOrNextKey = (ulong)valuePointer, Flags = (ulong)flags };
            if (BpfSyscall.TryInvoke(BpfCommand.MapUpdateElem, ref attr, out var errno) < 0)
                throw UpdateError(errno, flags);
        }
    }

    private BpfException UpdateError(int errno, MapUpdateFlags flags)
    {
        var operation = $"update map '{Info.Name}'";
        return errno switch
        {
            // Updates need no capability once the fd is open: EPERM means the map refuses writes.
            Errno.EPERM => new BpfException($"{operation}: EPERM: the map is frozen or read-only for user space", errno, BpfErrorReason.PermissionDenied),
            Errno.EEXIST when flags == MapUpdateFlags.NoExist => new BpfException($"{operation}: EEXIST: the key exists already and MapUpdateFlags.NoExist was given", errno, BpfErrorReason.AlreadyExists),
            Errno.ENOENT when flags == MapUpdateFlags.Exist => new BpfException($"{operation}: ENOENT: the key is missing and MapUpdateFlags.Exist was given", errno, BpfErrorReason.NotFound),
            Errno.E2BIG => new BpfException($"{operation}: E2BIG: the map is full ({MaxEntries} entries) or the index is out of range", errno, BpfErrorReason.TooBig),
            // Socket maps take only listening TCP sockets and bound UDP sockets (sock_map_sk_state_allowed).
            Errno.EOPNOTSUPP when Type is MapType.SockMap or MapType.SockHash or MapType.ReuseportSockArray =>
                new BpfException($"{operation}: EOPNOTSUPP: a socket map takes only listening TCP sockets and bound UDP sockets", errno, BpfErrorReason.WrongSocket),
            _ => Errno.ToException(operation, errno),
        };
    }

    /// <summary>Deletes <paramref name="key"/>; returns false if it was not there.</summary>
    public bool Delete(ReadOnlySpan<byte> key)
    {
        CheckSizes(key, ValueSize);
        fixed (byte* keyPointer = key)
        {
            var attr = new MapElemAttr { MapFd = (uint)Handle.Value, Key = (ulong)keyPointer };
            if (BpfSyscall.TryInvoke(BpfCommand.MapDeleteElem, ref attr, out var errno) >= 0)
                return true;
            if (errno == Errno.ENOENT)
                return false;
            throw Errno.ToException($"delete from map '{Info.Name}'", errno);
        }
    }

    /// <summary>
    /// Writes the key that follows <paramref name="key"/> (or the first key, when <paramref name="key"/>
    /// is empty) into <paramref name="nextKey"/>. Returns false at the end of the map.
    /// </summary>
    public bool TryGetNextKey(ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        if (nextKey.Length != KeySize)
            throw new ArgumentException($"next key must be {KeySize} bytes", nameof(nextKey));
        fixed (byte* keyPointer = key)
        fixed (byte* nextPointer = nextKey)
        {
            var attr = new MapElemAttr { MapFd = (uint)Handle.Value, Key = key.IsEmpty ? 0 : (ulong)keyPointer, ValueOrNextKey = (ulong)nextPointer };
            if (BpfSyscall.TryInvoke(BpfCommand.MapGetNextKey, ref attr, out var errno) >= 0)
                return true;
            if (errno == Errno.ENOENT)
                return false;
            throw Errno.ToException($"iterate map '{Info.Name}'", errno);
        }
    }

    /// <summary>
    /// Every key in the map. Safe against concurrent deletes: when the current key vanishes, the kernel
    /// restarts from the first key, and keys already returned are skipped.
    /// </summary>
    /// <remarks>
    /// An LPM trie before Linux 5.11 or so does not restart: for a key that is gone it answers with some
    /// later key, skipping the ones between (Debian's 5.10 does). So a trie is walked again from the
    /// start whenever a walk found a new key, until one finds none.
    /// </remarks>
    public IEnumerable<byte[]> Keys()
    {
        var seen = new HashSet<byte[]>(ByteArrayComparer.Instance);
        var current = Array.Empty<byte>();
        var revisits = 0L;
        var foundInThisWalk = false;
        while (true)
        {
            var next = new byte[KeySize];
            if (!TryGetNextKey(current, next))
            {
                if (Type != MapType.LpmTrie || !foundInThisWalk)
                    yield break;
                foundInThisWalk = false;
                current = [];
                continue;
            }
            if (seen.Add(next))
            {
                foundInThisWalk = true;
                yield return next;
            }
            else if (++revisits > MaxEntries * 4L + 16)
            {
                yield break; // The map keeps changing faster than it can be walked.
            }
            current = next;
        }
    }

    /// <summary>Every entry in the map; entries deleted while iterating are skipped.</summary>
    public IEnumerable<KeyValuePair<byte[], byte[]>> Entries()
    {
        foreach (var key in Keys())
        {
            var value = Lookup(key);
            if (value is not null)
                yield return new(key, value);
        }
    }

    /// <summary>Looks up an unmanaged key and value of exactly the map's sizes.</summary>
    public bool TryLookup<TKey, TValue>(in TKey key, out TValue value) where TKey : unmanaged where TValue : unmanaged
    {
        value = default;
        return TryLookup(AsBytes(in key), MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref value, 1)));
    }

    /// <summary>Writes an unmanaged key and value of exactly the map's sizes.</summary>
    public void Update<TKey, TValue>(in TKey key, in TValue value, MapUpdateFlags flags = MapUpdateFlags.Any)
        where TKey : unmanaged where TValue : unmanaged
        => Update(AsBytes(in key), AsBytes(in value), flags);

    /// <summary>Deletes an unmanaged key.</summary>
    public bool Delete<TKey>(in TKey key) where TKey : unmanaged => Delete(AsBytes(in key));

    /// <summary>Puts a socket into a SOCKMAP or SOCKHASH (or REUSEPORT_SOCKARRAY) under <paramref name="key"/>.</summary>
    public void UpdateSocket(ReadOnlySpan<byte> key, FileDescriptor socket, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        if (Type is not (MapType.SockMap or MapType.SockHash or MapType.ReuseportSockArray))
            throw new BpfException($"map '{Info.Name}' is a {Type}, not a socket map", 0, BpfErrorReason.InvalidArgument);
        Span<byte> value = stackalloc byte[ValueSize];
        value.Clear();
        MemoryMarshal.Write(value, (uint)socket.Value);
        Update(key, value, flags);
    }

    /// <summary>Puts <paramref name="socket"/> into a SOCKMAP or SOCKHASH (or REUSEPORT_SOCKARRAY) under <paramref name="key"/>.</summary>
    public void UpdateSocket(ReadOnlySpan<byte> key, System.Net.Sockets.Socket socket, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        using var fd = new FileDescriptor((int)socket.Handle, ownsHandle: false);
        UpdateSocket(key, fd, flags);
    }

    /// <summary>The cookie of the socket under <paramref name="key"/> in a socket map, or null if the slot is empty. Needs an 8-byte value.</summary>
    public ulong? LookupSocketCookie(ReadOnlySpan<byte> key)
    {
        if (ValueSize != 8)
            throw new BpfException($"map '{Info.Name}' has {ValueSize}-byte values; the kernel returns socket cookies only for 8-byte values",
                0, BpfErrorReason.InvalidArgument);
        Span<byte> value = stackalloc byte[8];
        return TryLookup(key, value) ? MemoryMarshal.Read<ulong>(value) : null;
    }

    /// <summary>Reads a per-CPU value as one <typeparamref name="T"/> per possible CPU.</summary>
    public T[] LookupPerCpu<T>(ReadOnlySpan<byte> key) where T : unmanaged
    {
        if (!IsPerCpu)
            throw new InvalidOperationException($"map '{Info.Name}' is a {Type}, not a per-CPU map");
        if (sizeof(T) != Info.ValueSize)
            throw new ArgumentException($"{typeof(T).Name} is {sizeof(T)} bytes; map values are {Info.ValueSize}");
        var raw = new byte[ValueSize];
        var result = new T[PossibleCpus.Count];
        if (!TryLookup(key, raw))
            return result;
        var stride = RoundUp8(sizeof(T));
        for (var cpu = 0; cpu < result.Length; cpu++)
            result[cpu] = MemoryMarshal.Read<T>(raw.AsSpan(cpu * stride, sizeof(T)));
        return result;
    }

    /// <summary>Sums a per-CPU counter (an unsigned 64-bit value, or several of them) across all CPUs.</summary>
    public ulong[] SumPerCpu(ReadOnlySpan<byte> key)
    {
        if (!IsPerCpu || Info.ValueSize % 8 != 0)
            throw new InvalidOperationException($"map '{Info.Name}' does not hold per-CPU u64 counters");
        var counters = (int)Info.ValueSize / 8;
        var raw = new byte[ValueSize];
        var sums = new ulong[counters];
        if (!TryLookup(key, raw))
            return sums;
        var values = MemoryMarshal.Cast<byte, ulong>(raw);
        for (var cpu = 0; cpu < PossibleCpus.Count; cpu++)
            for (var i = 0; i < counters; i++)
                sums[i] += values[cpu * counters + i];
        return sums;
    }

    /// <summary>
    /// Writes many entries with one BPF_MAP_UPDATE_BATCH call where the map type has it, else one by one.
    /// <paramref name="keys"/> and <paramref name="values"/> hold the entries back to back. Returns how many
    /// were written. The kernel's batch update knows only BPF_ANY, so other <paramref name="flags"/> go one by one.
    /// </summary>
    public int UpdateBatch(ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        var count = CheckBatch(keys, values);
        var written = 0;
        if (count > 0 && flags == MapUpdateFlags.Any)
        {
            fixed (byte* keysPointer = keys)
            fixed (byte* valuesPointer = values)
            {
                var attr = new MapBatchAttr { Keys = (ulong)keysPointer, Values = (ulong)valuesPointer, Count = (uint)count, MapFd = (uint)Handle.Value };
                if (BpfSyscall.TryInvoke(BpfCommand.MapUpdateBatch, ref attr, out var errno) >= 0)
                    return (int)attr.Count;
                written = BatchProgress(attr.Count, count);
                if (written > 0 || errno is not (Errno.EINVAL or Errno.ENOTSUPP or Errno.EOPNOTSUPP))
                    throw Errno.ToException($"batch update of map '{Info.Name}' (after {written} of {count})", errno);
            }
        }
        // Socket maps have no batch operations: single updates, which also report errors per entry.
        for (var i = written; i < count; i++)
            Update(keys.Slice(i * KeySize, KeySize), values.Slice(i * ValueSize, ValueSize), flags);
        return count;
    }

    /// <summary>
    /// Deletes many keys, back to back in <paramref name="keys"/>, with BPF_MAP_DELETE_BATCH where the map
    /// type has it, else one by one. Missing keys are skipped. Returns how many were deleted.
    /// </summary>
    public int DeleteBatch(ReadOnlySpan<byte> keys)
    {
        if (keys.Length % KeySize != 0)
            throw new ArgumentException($"keys must be a multiple of {KeySize} bytes", nameof(keys));
        var count = keys.Length / KeySize;
        var deleted = 0;
        var next = 0;
        fixed (byte* keysPointer = keys)
        {
            while (next < count)
            {
                var remaining = count - next;
                var attr = new MapBatchAttr { Keys = (ulong)(keysPointer + next * KeySize), Count = (uint)remaining, MapFd = (uint)Handle.Value };
                if (BpfSyscall.TryInvoke(BpfCommand.MapDeleteBatch, ref attr, out var errno) >= 0)
                    return deleted + (int)attr.Count;
                var progress = BatchProgress(attr.Count, remaining);
                deleted += progress;
                next += progress;
                if (errno == Errno.ENOENT)
                {
                    next++; // The kernel stops at a missing key: skip it and go on with the rest.
                    continue;
                }
                if (next == 0 && errno is Errno.EINVAL or Errno.ENOTSUPP or Errno.EOPNOTSUPP)
                    break; // No batch deletes for this map type: one by one below.
                throw Errno.ToException($"batch delete from map '{Info.Name}' (after {deleted} of {count})", errno);
            }
        }
        for (; next < count; next++)
            if (Delete(keys.Slice(next * KeySize, KeySize)))
                deleted++;
        return deleted;
    }

    /// <summary>
    /// How many elements a failed batch call got through. The kernel writes the count back only once it has
    /// started on the elements, and then it is below what was asked; an unchanged count means none were done.
    /// </summary>
    private static int BatchProgress(uint countAfterCall, int requested) =>
        countAfterCall < (uint)requested ? (int)countAfterCall : 0;

    /// <summary>
    /// Reads every entry with BPF_MAP_LOOKUP_BATCH (hash, array and LPM maps), falling back to key iteration
    /// for map types without batch support (socket maps).
    /// </summary>
    public List<KeyValuePair<byte[], byte[]>> LookupAll()
    {
        var result = new List<KeyValuePair<byte[], byte[]>>();
        var keySize = KeySize;
        var valueSize = ValueSize;
        if (!TryLookupBatches((keys, values, count) =>
            {
                for (var i = 0; i < count; i++)
                    result.Add(new(keys.Slice(i * keySize, keySize).ToArray(), values.Slice(i * valueSize, valueSize).ToArray()));
            }))
            return [.. Entries()];
        return result;
    }

    /// <summary>
    /// Reads every entry with BPF_MAP_LOOKUP_BATCH, handing <paramref name="handler"/> each batch as it arrives:
    /// <paramref name="handler"/> gets <c>count</c> keys and values, back to back, in buffers that are reused for the
    /// next batch. Nothing is allocated per entry, so a map of a million entries is read in a few dozen calls.
    /// The entries of a map that changes meanwhile may be seen once, twice or not at all, as with any walk.
    /// </summary>
    /// <returns>False if the map type has no batch lookups (socket maps); nothing was handed over then.</returns>
    public bool TryLookupBatches(BatchHandler handler, int batchEntries = 16384)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchEntries);
        var chunk = (int)Math.Min((uint)batchEntries, Math.Max(MaxEntries, 1u));
        var batchToken = new byte[Math.Max(8, KeySize)];
        var first = true;
        // Not zeroed: the handler sees only what the kernel wrote, and a small map's entries touch the first pages alone.
        var keys = GC.AllocateUninitializedArray<byte>(chunk * KeySize);
        var values = GC.AllocateUninitializedArray<byte>(chunk * ValueSize);
        while (true)
        {
            uint returned;
            int errno;
            fixed (byte* keysPointer = keys)
            fixed (byte* valuesPointer = values)
            fixed (byte* tokenPointer = batchToken)
            {
                var attr = new MapBatchAttr
                {
                    InBatch = first ? 0 : (ulong)tokenPointer,
                    OutBatch = (ulong)tokenPointer,
                    Keys = (ulong)keysPointer,
                    Values = (ulong)valuesPointer,
                    Count = (uint)chunk,
                    MapFd = (uint)Handle.Value,
                };
                errno = BpfSyscall.TryInvoke(BpfCommand.MapLookupBatch, ref attr, out var failure) >= 0 ? 0 : failure;
                returned = attr.Count;
            }
            if (errno == Errno.ENOSPC && chunk < MaxEntries)
            {
                chunk *= 4; // A hash bucket holds more entries than one chunk: the kernel returns whole buckets.
                keys = GC.AllocateUninitializedArray<byte>(chunk * KeySize);
                values = GC.AllocateUninitializedArray<byte>(chunk * ValueSize);
                continue;
            }
            if (errno is not (0 or Errno.ENOENT))
            {
                if (first && errno is Errno.EINVAL or Errno.ENOTSUPP or Errno.EOPNOTSUPP)
                    return false;
                throw Errno.ToException($"batch lookup of map '{Info.Name}'", errno);
            }
            if (returned > 0)
                handler(keys.AsSpan(0, (int)returned * KeySize), values.AsSpan(0, (int)returned * ValueSize), (int)returned);
            if (errno == Errno.ENOENT) // The walk is complete.
                return true;
            first = false;
        }
    }

    private int CheckBatch(ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values)
    {
        if (keys.Length % KeySize != 0 || values.Length % ValueSize != 0 || keys.Length / KeySize != values.Length / ValueSize)
            throw new ArgumentException($"batch needs N keys of {KeySize} bytes and N values of {ValueSize} bytes");
        return keys.Length / KeySize;
    }

    private void CheckSizes(ReadOnlySpan<byte> key, int valueLength)
    {
        if (key.Length != KeySize)
            throw new ArgumentException($"map '{Info.Name}' has {KeySize}-byte keys, got {key.Length} bytes", nameof(key));
        if (valueLength != ValueSize)
            throw new ArgumentException($"map '{Info.Name}' has {ValueSize}-byte values, got {valueLength} bytes", "value");
    }

    private static ReadOnlySpan<byte> AsBytes<T>(in T value) where T : unmanaged =>
        MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value));

    private static int RoundUp8(int size) => (size + 7) & ~7;

    /// <summary>Disposes the file descriptor.</summary>
    public void Dispose() => Handle.Dispose();

    /// <inheritdoc />
    public override string ToString() => $"map '{Info.Name}' id {Info.Id} ({Type})";

    private sealed class ByteArrayComparer : IEqualityComparer<byte[]>
    {
        public static readonly ByteArrayComparer Instance = new();
        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);
        public int GetHashCode(byte[] bytes)
        {
            var hash = new HashCode();
            hash.AddBytes(bytes);
            return hash.ToHashCode();
        }
    }
}
