using System.Reflection;
using System.Runtime.InteropServices;
using SkLookup.Bpf.Asm;
using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf.Tests;

/// <summary>
/// Every kernel struct member that the interop layer mirrors has the offset and size that the system's
/// <c>&lt;linux/bpf.h&gt;</c> gives it, checked by compiling a C program against the header.
/// </summary>
// Pure logic, the same on every kernel: the kernel matrix (scripts/kernel-matrix.sh) leaves it to the native run.
[Trait("Kernel", "Independent")]
public sealed class LayoutTests(KernelHeaderLayout header) : IClassFixture<KernelHeaderLayout>
{
    /// <summary>Each header member (as layout.c names it) and the C# struct field that mirrors it.</summary>
    private static readonly Dictionary<string, (Type Struct, string Field)> s_mirrors = new()
    {
        ["bpf_attr.map_type"] = (typeof(MapCreateAttr), nameof(MapCreateAttr.MapType)),
        ["bpf_attr.key_size"] = (typeof(MapCreateAttr), nameof(MapCreateAttr.KeySize)),
        ["bpf_attr.value_size"] = (typeof(MapCreateAttr), nameof(MapCreateAttr.ValueSize)),
        ["bpf_attr.max_entries"] = (typeof(MapCreateAttr), nameof(MapCreateAttr.MaxEntries)),
        ["bpf_attr.map_flags"] = (typeof(MapCreateAttr), nameof(MapCreateAttr.MapFlags)),
        ["bpf_attr.inner_map_fd"] = (typeof(MapCreateAttr), nameof(MapCreateAttr.InnerMapFd)),
        ["bpf_attr.numa_node"] = (typeof(MapCreateAttr), nameof(MapCreateAttr.NumaNode)),
        ["bpf_attr.map_name"] = (typeof(MapCreateAttr), nameof(MapCreateAttr.MapName)),
        ["bpf_attr.map_ifindex"] = (typeof(MapCreateAttr), nameof(MapCreateAttr.MapIfindex)),
        ["bpf_attr.btf_fd"] = (typeof(MapCreateAttr), nameof(MapCreateAttr.BtfFd)),
        ["bpf_attr.btf_key_type_id"] = (typeof(MapCreateAttr), nameof(MapCreateAttr.BtfKeyTypeId)),
        ["bpf_attr.btf_value_type_id"] = (typeof(MapCreateAttr), nameof(MapCreateAttr.BtfValueTypeId)),
        ["bpf_attr.btf_vmlinux_value_type_id"] = (typeof(MapCreateAttr), nameof(MapCreateAttr.BtfVmlinuxValueTypeId)),
        ["bpf_attr.map_extra"] = (typeof(MapCreateAttr), nameof(MapCreateAttr.MapExtra)),

        ["bpf_attr.map_fd"] = (typeof(MapElemAttr), nameof(MapElemAttr.MapFd)),
        ["bpf_attr.key"] = (typeof(MapElemAttr), nameof(MapElemAttr.Key)),
        ["bpf_attr.value"] = (typeof(MapElemAttr), nameof(MapElemAttr.ValueOrNextKey)),
        ["bpf_attr.next_key"] = (typeof(MapElemAttr), nameof(MapElemAttr.ValueOrNextKey)),
        ["bpf_attr.flags"] = (typeof(MapElemAttr), nameof(MapElemAttr.Flags)),

        ["bpf_attr.batch.in_batch"] = (typeof(MapBatchAttr), nameof(MapBatchAttr.InBatch)),
        ["bpf_attr.batch.out_batch"] = (typeof(MapBatchAttr), nameof(MapBatchAttr.OutBatch)),
        ["bpf_attr.batch.keys"] = (typeof(MapBatchAttr), nameof(MapBatchAttr.Keys)),
        ["bpf_attr.batch.values"] = (typeof(MapBatchAttr), nameof(MapBatchAttr.Values)),
        ["bpf_attr.batch.count"] = (typeof(MapBatchAttr), nameof(MapBatchAttr.Count)),
        ["bpf_attr.batch.map_fd"] = (typeof(MapBatchAttr), nameof(MapBatchAttr.MapFd)),
        ["bpf_attr.batch.elem_flags"] = (typeof(MapBatchAttr), nameof(MapBatchAttr.ElemFlags)),
        ["bpf_attr.batch.flags"] = (typeof(MapBatchAttr), nameof(MapBatchAttr.Flags)),

        ["bpf_attr.prog_type"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.ProgType)),
        ["bpf_attr.insn_cnt"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.InsnCount)),
        ["bpf_attr.insns"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.Insns)),
        ["bpf_attr.license"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.License)),
        ["bpf_attr.log_level"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.LogLevel)),
        ["bpf_attr.log_size"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.LogSize)),
        ["bpf_attr.log_buf"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.LogBuf)),
        ["bpf_attr.kern_version"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.KernVersion)),
        ["bpf_attr.prog_flags"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.ProgFlags)),
        ["bpf_attr.prog_name"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.ProgName)),
        ["bpf_attr.prog_ifindex"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.ProgIfindex)),
        ["bpf_attr.expected_attach_type"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.ExpectedAttachType)),
        ["bpf_attr.prog_btf_fd"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.ProgBtfFd)),
        ["bpf_attr.func_info_rec_size"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.FuncInfoRecSize)),
        ["bpf_attr.func_info"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.FuncInfo)),
        ["bpf_attr.func_info_cnt"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.FuncInfoCount)),
        ["bpf_attr.line_info_rec_size"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.LineInfoRecSize)),
        ["bpf_attr.line_info"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.LineInfo)),
        ["bpf_attr.line_info_cnt"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.LineInfoCount)),
        ["bpf_attr.attach_btf_id"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.AttachBtfId)),
        ["bpf_attr.attach_prog_fd"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.AttachProgFd)),
        ["bpf_attr.core_relo_cnt"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.CoreReloCount)),
        ["bpf_attr.fd_array"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.FdArray)),
        ["bpf_attr.core_relos"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.CoreRelos)),
        ["bpf_attr.core_relo_rec_size"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.CoreReloRecSize)),
        ["bpf_attr.log_true_size"] = (typeof(ProgLoadAttr), nameof(ProgLoadAttr.LogTrueSize)),

        ["bpf_attr.pathname"] = (typeof(ObjPinAttr), nameof(ObjPinAttr.Pathname)),
        ["bpf_attr.bpf_fd"] = (typeof(ObjPinAttr), nameof(ObjPinAttr.BpfFd)),
        ["bpf_attr.file_flags"] = (typeof(ObjPinAttr), nameof(ObjPinAttr.FileFlags)),

        ["bpf_attr.test.prog_fd"] = (typeof(ProgTestRunAttr), nameof(ProgTestRunAttr.ProgFd)),
        ["bpf_attr.test.retval"] = (typeof(ProgTestRunAttr), nameof(ProgTestRunAttr.Retval)),
        ["bpf_attr.test.data_size_in"] = (typeof(ProgTestRunAttr), nameof(ProgTestRunAttr.DataSizeIn)),
        ["bpf_attr.test.data_size_out"] = (typeof(ProgTestRunAttr), nameof(ProgTestRunAttr.DataSizeOut)),
        ["bpf_attr.test.data_in"] = (typeof(ProgTestRunAttr), nameof(ProgTestRunAttr.DataIn)),
        ["bpf_attr.test.data_out"] = (typeof(ProgTestRunAttr), nameof(ProgTestRunAttr.DataOut)),
        ["bpf_attr.test.repeat"] = (typeof(ProgTestRunAttr), nameof(ProgTestRunAttr.Repeat)),
        ["bpf_attr.test.duration"] = (typeof(ProgTestRunAttr), nameof(ProgTestRunAttr.Duration)),
        ["bpf_attr.test.ctx_size_in"] = (typeof(ProgTestRunAttr), nameof(ProgTestRunAttr.CtxSizeIn)),
        ["bpf_attr.test.ctx_size_out"] = (typeof(ProgTestRunAttr), nameof(ProgTestRunAttr.CtxSizeOut)),
        ["bpf_attr.test.ctx_in"] = (typeof(ProgTestRunAttr), nameof(ProgTestRunAttr.CtxIn)),
        ["bpf_attr.test.ctx_out"] = (typeof(ProgTestRunAttr), nameof(ProgTestRunAttr.CtxOut)),
        ["bpf_attr.test.flags"] = (typeof(ProgTestRunAttr), nameof(ProgTestRunAttr.Flags)),
        ["bpf_attr.test.cpu"] = (typeof(ProgTestRunAttr), nameof(ProgTestRunAttr.Cpu)),
        ["bpf_attr.test.batch_size"] = (typeof(ProgTestRunAttr), nameof(ProgTestRunAttr.BatchSize)),

        ["bpf_attr.start_id"] = (typeof(GetIdAttr), nameof(GetIdAttr.Id)),
        ["bpf_attr.prog_id"] = (typeof(GetIdAttr), nameof(GetIdAttr.Id)),
        ["bpf_attr.map_id"] = (typeof(GetIdAttr), nameof(GetIdAttr.Id)),
        ["bpf_attr.link_id"] = (typeof(GetIdAttr), nameof(GetIdAttr.Id)),
        ["bpf_attr.next_id"] = (typeof(GetIdAttr), nameof(GetIdAttr.NextId)),
        ["bpf_attr.open_flags"] = (typeof(GetIdAttr), nameof(GetIdAttr.OpenFlags)),

        ["bpf_attr.info.bpf_fd"] = (typeof(ObjInfoAttr), nameof(ObjInfoAttr.BpfFd)),
        ["bpf_attr.info.info_len"] = (typeof(ObjInfoAttr), nameof(ObjInfoAttr.InfoLen)),
        ["bpf_attr.info.info"] = (typeof(ObjInfoAttr), nameof(ObjInfoAttr.Info)),

        ["bpf_attr.query.target_fd"] = (typeof(ProgQueryAttr), nameof(ProgQueryAttr.TargetFd)),
        ["bpf_attr.query.attach_type"] = (typeof(ProgQueryAttr), nameof(ProgQueryAttr.AttachType)),
        ["bpf_attr.query.query_flags"] = (typeof(ProgQueryAttr), nameof(ProgQueryAttr.QueryFlags)),
        ["bpf_attr.query.attach_flags"] = (typeof(ProgQueryAttr), nameof(ProgQueryAttr.AttachFlags)),
        ["bpf_attr.query.prog_ids"] = (typeof(ProgQueryAttr), nameof(ProgQueryAttr.ProgIds)),
        ["bpf_attr.query.prog_cnt"] = (typeof(ProgQueryAttr), nameof(ProgQueryAttr.ProgCount)),
        ["bpf_attr.query.prog_attach_flags"] = (typeof(ProgQueryAttr), nameof(ProgQueryAttr.ProgAttachFlags)),

        ["bpf_attr.link_create.prog_fd"] = (typeof(LinkCreateAttr), nameof(LinkCreateAttr.ProgFd)),
        ["bpf_attr.link_create.target_fd"] = (typeof(LinkCreateAttr), nameof(LinkCreateAttr.TargetFd)),
        ["bpf_attr.link_create.attach_type"] = (typeof(LinkCreateAttr), nameof(LinkCreateAttr.AttachType)),
        ["bpf_attr.link_create.flags"] = (typeof(LinkCreateAttr), nameof(LinkCreateAttr.Flags)),

        ["bpf_attr.link_update.link_fd"] = (typeof(LinkUpdateAttr), nameof(LinkUpdateAttr.LinkFd)),
        ["bpf_attr.link_update.new_prog_fd"] = (typeof(LinkUpdateAttr), nameof(LinkUpdateAttr.NewProgFd)),
        ["bpf_attr.link_update.flags"] = (typeof(LinkUpdateAttr), nameof(LinkUpdateAttr.Flags)),
        ["bpf_attr.link_update.old_prog_fd"] = (typeof(LinkUpdateAttr), nameof(LinkUpdateAttr.OldProgFd)),

        // SingleFdAttr serves BPF_LINK_DETACH, BPF_MAP_FREEZE (map_fd) and BPF_ENABLE_STATS.
        ["bpf_attr.link_detach.link_fd"] = (typeof(SingleFdAttr), nameof(SingleFdAttr.Value)),
        ["bpf_attr.enable_stats.type"] = (typeof(SingleFdAttr), nameof(SingleFdAttr.Value)),

        ["bpf_prog_info.type"] = (typeof(BpfProgInfo), nameof(BpfProgInfo.Type)),
        ["bpf_prog_info.id"] = (typeof(BpfProgInfo), nameof(BpfProgInfo.Id)),
        ["bpf_prog_info.tag"] = (typeof(BpfProgInfo), nameof(BpfProgInfo.Tag)),
        ["bpf_prog_info.jited_prog_len"] = (typeof(BpfProgInfo), nameof(BpfProgInfo.JitedProgLen)),
        ["bpf_prog_info.xlated_prog_len"] = (typeof(BpfProgInfo), nameof(BpfProgInfo.XlatedProgLen)),
        ["bpf_prog_info.jited_prog_insns"] = (typeof(BpfProgInfo), nameof(BpfProgInfo.JitedProgInsns)),
        ["bpf_prog_info.xlated_prog_insns"] = (typeof(BpfProgInfo), nameof(BpfProgInfo.XlatedProgInsns)),
        ["bpf_prog_info.load_time"] = (typeof(BpfProgInfo), nameof(BpfProgInfo.LoadTime)),
        ["bpf_prog_info.created_by_uid"] = (typeof(BpfProgInfo), nameof(BpfProgInfo.CreatedByUid)),
        ["bpf_prog_info.nr_map_ids"] = (typeof(BpfProgInfo), nameof(BpfProgInfo.NrMapIds)),
        ["bpf_prog_info.map_ids"] = (typeof(BpfProgInfo), nameof(BpfProgInfo.MapIds)),
        ["bpf_prog_info.name"] = (typeof(BpfProgInfo), nameof(BpfProgInfo.Name)),
        ["bpf_prog_info.ifindex"] = (typeof(BpfProgInfo), nameof(BpfProgInfo.Ifindex)),
        ["bpf_prog_info.netns_dev"] = (typeof(BpfProgInfo), nameof(BpfProgInfo.NetnsDev)),
        ["bpf_prog_info.netns_ino"] = (typeof(BpfProgInfo), nameof(BpfProgInfo.NetnsIno)),
        ["bpf_prog_info.btf_id"] = (typeof(BpfProgInfo), nameof(BpfProgInfo.BtfId)),
        ["bpf_prog_info.run_time_ns"] = (typeof(BpfProgInfo), nameof(BpfProgInfo.RunTimeNs)),
        ["bpf_prog_info.run_cnt"] = (typeof(BpfProgInfo), nameof(BpfProgInfo.RunCount)),
        ["bpf_prog_info.recursion_misses"] = (typeof(BpfProgInfo), nameof(BpfProgInfo.RecursionMisses)),
        ["bpf_prog_info.verified_insns"] = (typeof(BpfProgInfo), nameof(BpfProgInfo.VerifiedInsns)),

        ["bpf_map_info.type"] = (typeof(BpfMapInfo), nameof(BpfMapInfo.Type)),
        ["bpf_map_info.id"] = (typeof(BpfMapInfo), nameof(BpfMapInfo.Id)),
        ["bpf_map_info.key_size"] = (typeof(BpfMapInfo), nameof(BpfMapInfo.KeySize)),
        ["bpf_map_info.value_size"] = (typeof(BpfMapInfo), nameof(BpfMapInfo.ValueSize)),
        ["bpf_map_info.max_entries"] = (typeof(BpfMapInfo), nameof(BpfMapInfo.MaxEntries)),
        ["bpf_map_info.map_flags"] = (typeof(BpfMapInfo), nameof(BpfMapInfo.MapFlags)),
        ["bpf_map_info.name"] = (typeof(BpfMapInfo), nameof(BpfMapInfo.Name)),
        ["bpf_map_info.ifindex"] = (typeof(BpfMapInfo), nameof(BpfMapInfo.Ifindex)),
        ["bpf_map_info.netns_dev"] = (typeof(BpfMapInfo), nameof(BpfMapInfo.NetnsDev)),
        ["bpf_map_info.netns_ino"] = (typeof(BpfMapInfo), nameof(BpfMapInfo.NetnsIno)),
        ["bpf_map_info.btf_id"] = (typeof(BpfMapInfo), nameof(BpfMapInfo.BtfId)),
        ["bpf_map_info.map_extra"] = (typeof(BpfMapInfo), nameof(BpfMapInfo.MapExtra)),

        ["bpf_link_info.type"] = (typeof(BpfLinkInfo), nameof(BpfLinkInfo.Type)),
        ["bpf_link_info.id"] = (typeof(BpfLinkInfo), nameof(BpfLinkInfo.Id)),
        ["bpf_link_info.prog_id"] = (typeof(BpfLinkInfo), nameof(BpfLinkInfo.ProgId)),
        ["bpf_link_info.netns.netns_ino"] = (typeof(BpfLinkInfo), nameof(BpfLinkInfo.NetnsIno)),
        ["bpf_link_info.netns.attach_type"] = (typeof(BpfLinkInfo), nameof(BpfLinkInfo.NetnsAttachType)),
    };

    /// <summary>
    /// The documented exceptions: members newer than some headers we may be built against, with the Linux
    /// version that added them. A header older than that lacks the member; the struct of ours may then
    /// reach past the header's end, but only with these members.
    /// </summary>
    private static readonly Dictionary<string, Version> s_newerThanOldHeaders = new()
    {
        // BPF_PROG_LOAD writes the log's true size here since 6.4; older kernels ignore the zeroed slot.
        ["bpf_attr.log_true_size"] = new(6, 4),
    };

    /// <summary>What each of our structs is measured against: a whole header struct, a named command group, or the whole union.</summary>
    private static readonly Dictionary<Type, string> s_headerSizeOf = new()
    {
        [typeof(MapCreateAttr)] = "bpf_attr",
        [typeof(MapElemAttr)] = "bpf_attr",
        [typeof(MapBatchAttr)] = "bpf_attr.batch",
        [typeof(ProgLoadAttr)] = "bpf_attr",
        [typeof(ObjPinAttr)] = "bpf_attr",
        [typeof(ProgTestRunAttr)] = "bpf_attr.test",
        [typeof(GetIdAttr)] = "bpf_attr",
        [typeof(ObjInfoAttr)] = "bpf_attr.info",
        [typeof(ProgQueryAttr)] = "bpf_attr.query",
        [typeof(LinkCreateAttr)] = "bpf_attr.link_create",
        [typeof(LinkUpdateAttr)] = "bpf_attr.link_update",
        [typeof(SingleFdAttr)] = "bpf_attr.link_detach",
        [typeof(BpfProgInfo)] = "bpf_prog_info",
        [typeof(BpfMapInfo)] = "bpf_map_info",
        [typeof(BpfLinkInfo)] = "bpf_link_info",
    };

    /// <summary>The fields of <c>struct bpf_sk_lookup</c>: our offset constant, and the width our code reads and writes.</summary>
    private static readonly Dictionary<string, (int Offset, int Size)> s_context = new()
    {
        ["bpf_sk_lookup.sk"] = (SkLookupContext.Socket, 8),
        ["bpf_sk_lookup.cookie"] = (SkLookupContext.Socket, 8),
        ["bpf_sk_lookup.family"] = (SkLookupContext.Family, 4),
        ["bpf_sk_lookup.protocol"] = (SkLookupContext.Protocol, 4),
        ["bpf_sk_lookup.remote_ip4"] = (SkLookupContext.RemoteIp4, 4),
        ["bpf_sk_lookup.remote_ip6"] = (SkLookupContext.RemoteIp6, 16),
        ["bpf_sk_lookup.remote_port"] = (SkLookupContext.RemotePort, 2),
        ["bpf_sk_lookup.local_ip4"] = (SkLookupContext.LocalIp4, 4),
        ["bpf_sk_lookup.local_ip6"] = (SkLookupContext.LocalIp6, 16),
        ["bpf_sk_lookup.local_port"] = (SkLookupContext.LocalPort, 4),
        ["bpf_sk_lookup.ingress_ifindex"] = (SkLookupContext.IngressIfindex, 4),
    };

    public static TheoryData<string> MirroredMembers() => [.. s_mirrors.Keys];

    public static TheoryData<string> ContextMembers() => [.. s_context.Keys];

    public static TheoryData<string> Structs() => [.. s_headerSizeOf.Keys.Select(type => type.Name)];

    [Theory]
    [MemberData(nameof(MirroredMembers))]
    public void MemberHasTheHeadersOffsetAndSize(string member)
    {
        var (ours, field) = s_mirrors[member];
        var (offset, size) = FieldLayout(ours, field);
        if (!header.Members.TryGetValue(member, out var theirs))
        {
            // Only a documented member may be missing, and only from a header older than the member.
            Assert.True(s_newerThanOldHeaders.TryGetValue(member, out var since),
                $"{member} is not in <linux/bpf.h> {header.HeaderVersion}, and it is not documented as newer than the header");
            Assert.True(header.HeaderVersion < since, $"{member} should be in <linux/bpf.h> {header.HeaderVersion} (it came in {since})");
            // It must not overlap anything that the header does know in the same struct of ours.
            foreach (var (known, (knownStruct, knownField)) in s_mirrors)
                if (knownStruct == ours && header.Members.TryGetValue(known, out var knownLayout))
                    Assert.True(offset >= knownLayout.Offset + knownLayout.Size,
                        $"{ours.Name}.{field} at {offset} overlaps {known} ({knownLayout.Offset}+{knownLayout.Size})");
            return;
        }
        Assert.True(theirs.Offset == offset, $"{ours.Name}.{field} is at offset {offset}, but {member} is at {theirs.Offset}");
        Assert.True(theirs.Size == size, $"{ours.Name}.{field} is {size} bytes, but {member} is {theirs.Size}");
    }

    [Theory]
    [MemberData(nameof(Structs))]
    public void StructIsNoLargerThanTheHeadersUnlessDocumented(string structName)
    {
        var ours = s_headerSizeOf.Keys.Single(type => type.Name == structName);
        var ourSize = Marshal.SizeOf(ours);
        Assert.Equal(ourSize, RuntimeSize(ours));
        var theirSize = header.Sizes[s_headerSizeOf[ours]];
        if (ourSize <= theirSize)
            return;
        // Larger only through members newer than this header, which the member test has checked.
        var documentedEnd = 0;
        foreach (var (member, (type, field)) in s_mirrors)
            if (type == ours && s_newerThanOldHeaders.ContainsKey(member) && !header.Members.ContainsKey(member))
            {
                var (offset, size) = FieldLayout(type, field);
                documentedEnd = Math.Max(documentedEnd, (offset + size + 7) & ~7);
            }
        Assert.True(ourSize <= documentedEnd,
            $"{structName} is {ourSize} bytes, larger than {s_headerSizeOf[ours]} ({theirSize} bytes) in <linux/bpf.h> {header.HeaderVersion}, without a documented reason");
    }

    [Theory]
    [MemberData(nameof(Structs))]
    public void EveryFieldOfOurStructIsChecked(string structName)
    {
        var ours = s_headerSizeOf.Keys.Single(type => type.Name == structName);
        foreach (var field in ours.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            Assert.True(s_mirrors.Values.Contains((ours, field.Name)), $"{structName}.{field.Name} has no header member to check it against");
    }

    [Theory]
    [MemberData(nameof(ContextMembers))]
    public void SkLookupContextOffsetMatchesTheHeader(string member)
    {
        var (offset, size) = s_context[member];
        var theirs = header.Members[member];
        Assert.True(theirs.Offset == offset, $"SkLookupContext puts {member} at {offset}, the header at {theirs.Offset}");
        Assert.True(theirs.Size == size, $"our code treats {member} as {size} bytes, the header as {theirs.Size}");
    }

    [Fact]
    public void SkLookupContextSizeMatchesTheHeader() => Assert.Equal(SkLookupContext.Size, header.Sizes["bpf_sk_lookup"]);

    [Fact]
    public void EveryPrintedMemberIsMirrored()
    {
        // A member added to layout.c but not to the table above would silently go unchecked.
        foreach (var member in header.Members.Keys)
            Assert.True(s_mirrors.ContainsKey(member) || s_context.ContainsKey(member), $"layout.c prints {member}, which no test checks");
    }

    private static (int Offset, int Size) FieldLayout(Type type, string fieldName)
    {
        var field = type.GetField(fieldName, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException($"{type.Name} has no field {fieldName}");
        // A fixed buffer's field type is a compiler-made struct of the buffer's length.
        return (Marshal.OffsetOf(type, fieldName).ToInt32(), Marshal.SizeOf(field.FieldType));
    }

    private static int RuntimeSize(Type type) =>
        (int)typeof(System.Runtime.CompilerServices.Unsafe).GetMethod(nameof(System.Runtime.CompilerServices.Unsafe.SizeOf))!
            .MakeGenericMethod(type).Invoke(null, null)!;
}
