using System.Runtime.InteropServices;

namespace SkLookup.Bpf.Interop;

// One struct per command group of `union bpf_attr` (include/uapi/linux/bpf.h). Each is only as long
// as the members that its commands use: the kernel copies what user space passes and treats the rest
// of the union as zero, so a shorter struct is both valid and forward-compatible.
// The layout test (tests/SkLookup.Bpf.Tests/Interop) compiles these offsets against the real headers.

/// <summary>Members of <c>bpf_attr</c> used by <c>BPF_MAP_CREATE</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 72)]
internal unsafe struct MapCreateAttr
{
    [FieldOffset(0)] public uint MapType;
    [FieldOffset(4)] public uint KeySize;
    [FieldOffset(8)] public uint ValueSize;
    [FieldOffset(12)] public uint MaxEntries;
    [FieldOffset(16)] public uint MapFlags;
    [FieldOffset(20)] public uint InnerMapFd;
    [FieldOffset(24)] public uint NumaNode;
    [FieldOffset(28)] public fixed byte MapName[16];
    [FieldOffset(44)] public uint MapIfindex;
    [FieldOffset(48)] public uint BtfFd;
    [FieldOffset(52)] public uint BtfKeyTypeId;
    [FieldOffset(56)] public uint BtfValueTypeId;
    [FieldOffset(60)] public uint BtfVmlinuxValueTypeId;
    [FieldOffset(64)] public ulong MapExtra;
}

/// <summary>Members used by <c>BPF_MAP_LOOKUP_ELEM</c>, <c>UPDATE_ELEM</c>, <c>DELETE_ELEM</c> and <c>GET_NEXT_KEY</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
internal struct MapElemAttr
{
    [FieldOffset(0)] public uint MapFd;
    [FieldOffset(8)] public ulong Key;
    /// <summary><c>value</c>, or <c>next_key</c> for GET_NEXT_KEY.</summary>
    [FieldOffset(16)] public ulong ValueOrNextKey;
    [FieldOffset(24)] public ulong Flags;
}

/// <summary>Members used by the <c>BPF_MAP_*_BATCH</c> commands.</summary>
[StructLayout(LayoutKind.Explicit, Size = 56)]
internal struct MapBatchAttr
{
    [FieldOffset(0)] public ulong InBatch;
    [FieldOffset(8)] public ulong OutBatch;
    [FieldOffset(16)] public ulong Keys;
    [FieldOffset(24)] public ulong Values;
    [FieldOffset(32)] public uint Count;
    [FieldOffset(36)] public uint MapFd;
    [FieldOffset(40)] public ulong ElemFlags;
    [FieldOffset(48)] public ulong Flags;
}

/// <summary>Members used by <c>BPF_PROG_LOAD</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 144)]
internal unsafe struct ProgLoadAttr
{
    [FieldOffset(0)] public uint ProgType;
    [FieldOffset(4)] public uint InsnCount;
    [FieldOffset(8)] public ulong Insns;
    [FieldOffset(16)] public ulong License;
    [FieldOffset(24)] public uint LogLevel;
    [FieldOffset(28)] public uint LogSize;
    [FieldOffset(32)] public ulong LogBuf;
    [FieldOffset(40)] public uint KernVersion;
    [FieldOffset(44)] public uint ProgFlags;
    [FieldOffset(48)] public fixed byte ProgName[16];
    [FieldOffset(64)] public uint ProgIfindex;
    [FieldOffset(68)] public uint ExpectedAttachType;
    [FieldOffset(72)] public uint ProgBtfFd;
    [FieldOffset(76)] public uint FuncInfoRecSize;
    [FieldOffset(80)] public ulong FuncInfo;
    [FieldOffset(88)] public uint FuncInfoCount;
    [FieldOffset(92)] public uint LineInfoRecSize;
    [FieldOffset(96)] public ulong LineInfo;
    [FieldOffset(104)] public uint LineInfoCount;
    [FieldOffset(108)] public uint AttachBtfId;
    [FieldOffset(112)] public uint AttachProgFd;
    [FieldOffset(116)] public uint CoreReloCount;
    [FieldOffset(120)] public ulong FdArray;
    [FieldOffset(128)] public ulong CoreRelos;
    [FieldOffset(136)] public uint CoreReloRecSize;
    [FieldOffset(140)] public uint LogTrueSize;
}

/// <summary>Members used by <c>BPF_OBJ_PIN</c> and <c>BPF_OBJ_GET</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct ObjPinAttr
{
    [FieldOffset(0)] public ulong Pathname;
    [FieldOffset(8)] public uint BpfFd;
    [FieldOffset(12)] public uint FileFlags;
}

/// <summary>Members used by <c>BPF_PROG_TEST_RUN</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 80)]
internal struct ProgTestRunAttr
{
    [FieldOffset(0)] public uint ProgFd;
    [FieldOffset(4)] public uint Retval;
    [FieldOffset(8)] public uint DataSizeIn;
    [FieldOffset(12)] public uint DataSizeOut;
    [FieldOffset(16)] public ulong DataIn;
    [FieldOffset(24)] public ulong DataOut;
    [FieldOffset(32)] public uint Repeat;
    [FieldOffset(36)] public uint Duration;
    [FieldOffset(40)] public uint CtxSizeIn;
    [FieldOffset(44)] public uint CtxSizeOut;
    [FieldOffset(48)] public ulong CtxIn;
    [FieldOffset(56)] public ulong CtxOut;
    [FieldOffset(64)] public uint Flags;
    [FieldOffset(68)] public uint Cpu;
    [FieldOffset(72)] public uint BatchSize;
}

/// <summary>Members used by the <c>*_GET_NEXT_ID</c> and <c>*_GET_FD_BY_ID</c> commands.</summary>
[StructLayout(LayoutKind.Explicit, Size = 12)]
internal struct GetIdAttr
{
    /// <summary><c>start_id</c>, or the id of <c>prog_id</c>/<c>map_id</c>/<c>link_id</c> for GET_FD_BY_ID.</summary>
    [FieldOffset(0)] public uint Id;
    [FieldOffset(4)] public uint NextId;
    [FieldOffset(8)] public uint OpenFlags;
}

/// <summary>Members used by <c>BPF_OBJ_GET_INFO_BY_FD</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct ObjInfoAttr
{
    [FieldOffset(0)] public uint BpfFd;
    [FieldOffset(4)] public uint InfoLen;
    [FieldOffset(8)] public ulong Info;
}

/// <summary>Members used by <c>BPF_PROG_QUERY</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
internal struct ProgQueryAttr
{
    [FieldOffset(0)] public uint TargetFd;
    [FieldOffset(4)] public uint AttachType;
    [FieldOffset(8)] public uint QueryFlags;
    [FieldOffset(12)] public uint AttachFlags;
    [FieldOffset(16)] public ulong ProgIds;
    [FieldOffset(24)] public uint ProgCount;
    [FieldOffset(32)] public ulong ProgAttachFlags;
}

/// <summary>Members used by <c>BPF_LINK_CREATE</c> for a netns link.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct LinkCreateAttr
{
    [FieldOffset(0)] public uint ProgFd;
    [FieldOffset(4)] public uint TargetFd;
    [FieldOffset(8)] public uint AttachType;
    [FieldOffset(12)] public uint Flags;
}

/// <summary>Members used by <c>BPF_LINK_UPDATE</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct LinkUpdateAttr
{
    [FieldOffset(0)] public uint LinkFd;
    [FieldOffset(4)] public uint NewProgFd;
    [FieldOffset(8)] public uint Flags;
    [FieldOffset(12)] public uint OldProgFd;
}

/// <summary>Members used by <c>BPF_LINK_DETACH</c>, <c>BPF_MAP_FREEZE</c> and <c>BPF_ENABLE_STATS</c>: one u32.</summary>
[StructLayout(LayoutKind.Explicit, Size = 4)]
internal struct SingleFdAttr
{
    [FieldOffset(0)] public uint Value;
}

/// <summary><c>struct bpf_prog_info</c>, as far as the fields we read (and the arrays we ask for).</summary>
[StructLayout(LayoutKind.Explicit, Size = 232)]
internal unsafe struct BpfProgInfo
{
    [FieldOffset(0)] public uint Type;
    [FieldOffset(4)] public uint Id;
    [FieldOffset(8)] public fixed byte Tag[8];
    [FieldOffset(16)] public uint JitedProgLen;
    [FieldOffset(20)] public uint XlatedProgLen;
    [FieldOffset(24)] public ulong JitedProgInsns;
    [FieldOffset(32)] public ulong XlatedProgInsns;
    [FieldOffset(40)] public ulong LoadTime;
    [FieldOffset(48)] public uint CreatedByUid;
    [FieldOffset(52)] public uint NrMapIds;
    [FieldOffset(56)] public ulong MapIds;
    [FieldOffset(64)] public fixed byte Name[16];
    [FieldOffset(80)] public uint Ifindex;
    [FieldOffset(88)] public ulong NetnsDev;
    [FieldOffset(96)] public ulong NetnsIno;
    [FieldOffset(128)] public uint BtfId;
    [FieldOffset(192)] public ulong RunTimeNs;
    [FieldOffset(200)] public ulong RunCount;
    [FieldOffset(208)] public ulong RecursionMisses;
    [FieldOffset(216)] public uint VerifiedInsns;
}

/// <summary><c>struct bpf_map_info</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 88)]
internal unsafe struct BpfMapInfo
{
    [FieldOffset(0)] public uint Type;
    [FieldOffset(4)] public uint Id;
    [FieldOffset(8)] public uint KeySize;
    [FieldOffset(12)] public uint ValueSize;
    [FieldOffset(16)] public uint MaxEntries;
    [FieldOffset(20)] public uint MapFlags;
    [FieldOffset(24)] public fixed byte Name[16];
    [FieldOffset(40)] public uint Ifindex;
    [FieldOffset(48)] public ulong NetnsDev;
    [FieldOffset(56)] public ulong NetnsIno;
    [FieldOffset(64)] public uint BtfId;
    [FieldOffset(80)] public ulong MapExtra;
}

/// <summary><c>struct bpf_link_info</c> with its <c>netns</c> union member (48 bytes: its size in Linux 6.1 headers).</summary>
[StructLayout(LayoutKind.Explicit, Size = 48)]
internal struct BpfLinkInfo
{
    [FieldOffset(0)] public uint Type;
    [FieldOffset(4)] public uint Id;
    [FieldOffset(8)] public uint ProgId;
    [FieldOffset(16)] public uint NetnsIno;
    [FieldOffset(20)] public uint NetnsAttachType;
}
