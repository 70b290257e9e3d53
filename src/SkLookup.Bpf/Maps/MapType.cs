namespace SkLookup.Bpf;

/// <summary>Map types (<c>enum bpf_map_type</c>), with the kernel's numbering.</summary>
public enum MapType : uint
{
    /// <summary>BPF_MAP_TYPE_UNSPEC.</summary>
    Unspecified = 0,
    /// <summary>BPF_MAP_TYPE_HASH.</summary>
    Hash = 1,
    /// <summary>BPF_MAP_TYPE_ARRAY.</summary>
    Array = 2,
    /// <summary>BPF_MAP_TYPE_PROG_ARRAY.</summary>
    ProgramArray = 3,
    /// <summary>BPF_MAP_TYPE_PERF_EVENT_ARRAY.</summary>
    PerfEventArray = 4,
    /// <summary>BPF_MAP_TYPE_PERCPU_HASH.</summary>
    PerCpuHash = 5,
    /// <summary>BPF_MAP_TYPE_PERCPU_ARRAY.</summary>
    PerCpuArray = 6,
    /// <summary>BPF_MAP_TYPE_LRU_HASH.</summary>
    LruHash = 9,
    /// <summary>BPF_MAP_TYPE_LPM_TRIE: longest-prefix match; needs <see cref="MapFlags.NoPrealloc"/>.</summary>
    LpmTrie = 11,
    /// <summary>BPF_MAP_TYPE_ARRAY_OF_MAPS.</summary>
    ArrayOfMaps = 12,
    /// <summary>BPF_MAP_TYPE_HASH_OF_MAPS.</summary>
    HashOfMaps = 13,
    /// <summary>BPF_MAP_TYPE_SOCKMAP: sockets by u32 index.</summary>
    SockMap = 15,
    /// <summary>BPF_MAP_TYPE_SOCKHASH: sockets by a key of any size.</summary>
    SockHash = 18,
    /// <summary>BPF_MAP_TYPE_REUSEPORT_SOCKARRAY.</summary>
    ReuseportSockArray = 20,
}

/// <summary>Map creation flags (<c>map_flags</c>).</summary>
[Flags]
public enum MapFlags : uint
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>BPF_F_NO_PREALLOC: allocate entries on demand (required for LPM tries).</summary>
    NoPrealloc = 1 << 0,
    /// <summary>BPF_F_NO_COMMON_LRU.</summary>
    NoCommonLru = 1 << 1,
    /// <summary>BPF_F_NUMA_NODE.</summary>
    NumaNode = 1 << 2,
    /// <summary>BPF_F_RDONLY: read-only from user space.</summary>
    ReadOnly = 1 << 3,
    /// <summary>BPF_F_WRONLY: write-only from user space.</summary>
    WriteOnly = 1 << 4,
    /// <summary>BPF_F_ZERO_SEED.</summary>
    ZeroSeed = 1 << 6,
    /// <summary>BPF_F_RDONLY_PROG: programs may only read.</summary>
    ReadOnlyProgram = 1 << 7,
    /// <summary>BPF_F_WRONLY_PROG: programs may only write.</summary>
    WriteOnlyProgram = 1 << 8,
    /// <summary>BPF_F_MMAPABLE.</summary>
    Mmapable = 1 << 10,
}

/// <summary>Flags of an element update (<c>BPF_ANY</c>, <c>BPF_NOEXIST</c>, <c>BPF_EXIST</c>).</summary>
public enum MapUpdateFlags : ulong
{
    /// <summary>BPF_ANY: create or replace.</summary>
    Any = 0,
    /// <summary>BPF_NOEXIST: create only; EEXIST if the key is there.</summary>
    NoExist = 1,
    /// <summary>BPF_EXIST: replace only; ENOENT if the key is missing.</summary>
    Exist = 2,
}
