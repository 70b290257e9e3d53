using System.Buffers.Binary;
using System.Net;
using SkLookup.Bpf.Asm;
using static SkLookup.Bpf.Asm.Register;

namespace SkLookup.Bpf.Tests.Conformance.Programs;

/// <summary>
/// The programs of the kernel's sk_lookup selftest (progs/test_sk_lookup.c), written with our
/// <see cref="Assembler"/>. Each method has the name of the C function it stands for, and its comment
/// gives that C. They use the suite's two maps, <see cref="RedirMap"/> and <see cref="RunMap"/>, by name.
/// </summary>
/// <remarks>
/// The C keeps map keys and constants in <c>.rodata</c>; here they are immediates or stack slots,
/// which the verifier treats the same. <c>bpf_printk</c> calls of the C are left out.
/// </remarks>
public static class SuitePrograms
{
    /// <summary>The SOCKMAP of servers: key u32 (slot), value u64 (socket fd in, cookie out), 32 entries.</summary>
    public const string RedirMap = "redir_map";

    /// <summary>The ARRAY where the multi_prog_* programs mark that they ran: key u32, value u32, 2 entries.</summary>
    public const string RunMap = "run_map";

    /// <summary>The two maps the programs use, as the C declares them.</summary>
    public static IReadOnlyList<MapSpec> Maps { get; } =
    [
        new MapSpec { Name = RedirMap, Type = MapType.SockMap, KeySize = 4, ValueSize = 8, MaxEntries = 32 },
        new MapSpec { Name = RunMap, Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 2 },
    ];

    /// <summary>Every program by name.</summary>
    public static IReadOnlyDictionary<string, Func<ProgramSpec>> All { get; } = new Dictionary<string, Func<ProgramSpec>>(StringComparer.Ordinal)
    {
        [SuiteProgramNames.LookupPass] = LookupPass,
        [SuiteProgramNames.LookupDrop] = LookupDrop,
        [SuiteProgramNames.CheckIfindex] = CheckIfindex,
        [SuiteProgramNames.ReuseportPass] = ReuseportPass,
        [SuiteProgramNames.ReuseportDrop] = ReuseportDrop,
        [SuiteProgramNames.RedirPort] = RedirPort,
        [SuiteProgramNames.RedirIp4] = RedirIp4,
        [SuiteProgramNames.RedirIp6] = RedirIp6,
        [SuiteProgramNames.SelectSockA] = SelectSockA,
        [SuiteProgramNames.SelectSockANoReuseport] = SelectSockANoReuseport,
        [SuiteProgramNames.SelectSockB] = SelectSockB,
        [SuiteProgramNames.SkAssignEexist] = SkAssignEexist,
        [SuiteProgramNames.SkAssignReplaceFlag] = SkAssignReplaceFlag,
        [SuiteProgramNames.SkAssignNull] = SkAssignNull,
        [SuiteProgramNames.AccessCtxSk] = AccessCtxSk,
        [SuiteProgramNames.CtxNarrowAccess] = CtxNarrowAccess,
        [SuiteProgramNames.SkAssignEsocknosupport] = SkAssignEsocknosupport,
        [SuiteProgramNames.MultiProgPass1] = MultiProgPass1,
        [SuiteProgramNames.MultiProgPass2] = MultiProgPass2,
        [SuiteProgramNames.MultiProgDrop1] = MultiProgDrop1,
        [SuiteProgramNames.MultiProgDrop2] = MultiProgDrop2,
        [SuiteProgramNames.MultiProgRedir1] = MultiProgRedir1,
        [SuiteProgramNames.MultiProgRedir2] = MultiProgRedir2,
    };

    // Kernel constants the programs compare against.
    private const int EEXIST = 17, ESOCKTNOSUPPORT = 94;
    private const int SockStream = 1;    // SOCK_STREAM
    private const int BpfTcpListen = 10; // BPF_TCP_LISTEN
    private const int BpfAny = 0;        // BPF_ANY

    // Offsets in struct bpf_sock, the view of ctx->sk.
    private const short BpfSockFamily = 4, BpfSockType = 8, BpfSockState = 72;

    // Stack slots: a u32 map key, and a u32 map value.
    private const short KeySlot = -4, ValueSlot = -8;

    // ---- Plain verdicts ---------------------------------------------------------------------

    /// <summary><c>int lookup_pass(struct bpf_sk_lookup *ctx) { return SK_PASS; }</c></summary>
    public static ProgramSpec LookupPass() => new Assembler().Return(SkAction.Pass).Build(SuiteProgramNames.LookupPass);

    /// <summary><c>int lookup_drop(struct bpf_sk_lookup *ctx) { return SK_DROP; }</c></summary>
    public static ProgramSpec LookupDrop() => new Assembler().Return(SkAction.Drop).Build(SuiteProgramNames.LookupDrop);

    /// <summary>
    /// <code>
    /// int check_ifindex(struct bpf_sk_lookup *ctx)
    /// {
    ///     if (ctx->ingress_ifindex == 1)
    ///         return SK_DROP;
    ///     return SK_PASS;
    /// }
    /// </code>
    /// </summary>
    public static ProgramSpec CheckIfindex() => new Assembler()
        .Load(Size.Word, R2, R1, SkLookupContext.IngressIfindex)
        .JumpIf32(R2, JumpOp.Equal, 1, "drop")
        .Return(SkAction.Pass)
        .Label("drop").Return(SkAction.Drop)
        .Build(SuiteProgramNames.CheckIfindex);

    /// <summary><c>SEC("sk_reuseport") int reuseport_pass(struct sk_reuseport_md *ctx) { return SK_PASS; }</c></summary>
    public static ProgramSpec ReuseportPass() => new Assembler().Return(SkAction.Pass)
        .Build(SuiteProgramNames.ReuseportPass, ProgramType.SkReuseport, AttachType.SkReuseportSelectOrMigrate);

    /// <summary><c>SEC("sk_reuseport") int reuseport_drop(struct sk_reuseport_md *ctx) { return SK_DROP; }</c></summary>
    public static ProgramSpec ReuseportDrop() => new Assembler().Return(SkAction.Drop)
        .Build(SuiteProgramNames.ReuseportDrop, ProgramType.SkReuseport, AttachType.SkReuseportSelectOrMigrate);

    // ---- Redirection ------------------------------------------------------------------------

    /// <summary>
    /// Redirects packets for port DST_PORT (7007) to the socket at redir_map[0].
    /// <code>
    /// int redir_port(struct bpf_sk_lookup *ctx)
    /// {
    ///     if (ctx->local_port != DST_PORT)
    ///         return SK_PASS;
    ///     sk = bpf_map_lookup_elem(&amp;redir_map, &amp;KEY_SERVER_A);
    ///     if (!sk)
    ///         return SK_PASS;
    ///     err = bpf_sk_assign(ctx, sk, 0);
    ///     bpf_sk_release(sk);
    ///     return err ? SK_DROP : SK_PASS;
    /// }
    /// </code>
    /// </summary>
    public static ProgramSpec RedirPort()
    {
        var asm = new Assembler().Mov(R6, R1);
        IfLocalPortIsNot(asm, SuiteAddresses.ExternalPort, "pass");
        return SelectServerA(asm, SkAssignFlags.None, emptySlot: "pass")
            .Label("pass").Return(SkAction.Pass)
            .Label("drop").Return(SkAction.Drop)
            .Build(SuiteProgramNames.RedirPort);
    }

    /// <summary>
    /// Redirects packets for DST_IP4:DST_PORT (127.0.0.1:7007) to the socket at redir_map[0].
    /// <code>
    /// int redir_ip4(struct bpf_sk_lookup *ctx)
    /// {
    ///     if (ctx->family != AF_INET) return SK_PASS;
    ///     if (ctx->local_port != DST_PORT) return SK_PASS;
    ///     if (ctx->local_ip4 != DST_IP4) return SK_PASS;
    ///     sk = bpf_map_lookup_elem(&amp;redir_map, &amp;KEY_SERVER_A);
    ///     if (!sk) return SK_PASS;
    ///     err = bpf_sk_assign(ctx, sk, 0);
    ///     bpf_sk_release(sk);
    ///     return err ? SK_DROP : SK_PASS;
    /// }
    /// </code>
    /// </summary>
    public static ProgramSpec RedirIp4()
    {
        var asm = new Assembler().Mov(R6, R1)
            .Load(Size.Word, R2, R6, SkLookupContext.Family)
            .JumpIf32(R2, JumpOp.NotEqual, SkLookupContext.AfInet, "pass");
        IfLocalPortIsNot(asm, SuiteAddresses.ExternalPort, "pass");
        var address = SuiteAddresses.ExternalIp4.GetAddressBytes();
        asm.Load(Size.Word, R2, R6, SkLookupContext.LocalIp4)
            .JumpIf32(R2, JumpOp.NotEqual, HostWord(address), "pass");
        return SelectServerA(asm, SkAssignFlags.None, emptySlot: "pass")
            .Label("pass").Return(SkAction.Pass)
            .Label("drop").Return(SkAction.Drop)
            .Build(SuiteProgramNames.RedirIp4);
    }

    /// <summary>
    /// Redirects packets for [DST_IP6]:DST_PORT ([fd00::1]:7007) to the socket at redir_map[0].
    /// <code>
    /// int redir_ip6(struct bpf_sk_lookup *ctx)
    /// {
    ///     if (ctx->family != AF_INET6) return SK_PASS;
    ///     if (ctx->local_port != DST_PORT) return SK_PASS;
    ///     if (ctx->local_ip6[0] != DST_IP6[0] || ctx->local_ip6[1] != DST_IP6[1] ||
    ///         ctx->local_ip6[2] != DST_IP6[2] || ctx->local_ip6[3] != DST_IP6[3])
    ///         return SK_PASS;
    ///     sk = bpf_map_lookup_elem(&amp;redir_map, &amp;KEY_SERVER_A);
    ///     if (!sk) return SK_PASS;
    ///     err = bpf_sk_assign(ctx, sk, 0);
    ///     bpf_sk_release(sk);
    ///     return err ? SK_DROP : SK_PASS;
    /// }
    /// </code>
    /// </summary>
    public static ProgramSpec RedirIp6()
    {
        var asm = new Assembler().Mov(R6, R1)
            .Load(Size.Word, R2, R6, SkLookupContext.Family)
            .JumpIf32(R2, JumpOp.NotEqual, SkLookupContext.AfInet6, "pass");
        IfLocalPortIsNot(asm, SuiteAddresses.ExternalPort, "pass");
        var address = SuiteAddresses.ExternalIp6.GetAddressBytes();
        for (var word = 0; word < 4; word++)
        {
            asm.Load(Size.Word, R2, R6, (short)(SkLookupContext.LocalIp6 + 4 * word))
                .JumpIf32(R2, JumpOp.NotEqual, HostWord(address.AsSpan(4 * word)), "pass");
        }
        return SelectServerA(asm, SkAssignFlags.None, emptySlot: "pass")
            .Label("pass").Return(SkAction.Pass)
            .Label("drop").Return(SkAction.Drop)
            .Build(SuiteProgramNames.RedirIp6);
    }

    /// <summary>
    /// Selects server A for every lookup.
    /// <code>
    /// int select_sock_a(struct bpf_sk_lookup *ctx)
    /// {
    ///     sk = bpf_map_lookup_elem(&amp;redir_map, &amp;KEY_SERVER_A);
    ///     if (!sk) return SK_PASS;
    ///     err = bpf_sk_assign(ctx, sk, 0);
    ///     bpf_sk_release(sk);
    ///     return err ? SK_DROP : SK_PASS;
    /// }
    /// </code>
    /// </summary>
    public static ProgramSpec SelectSockA() => SelectServerA(new Assembler().Mov(R6, R1), SkAssignFlags.None, emptySlot: "pass")
        .Label("pass").Return(SkAction.Pass)
        .Label("drop").Return(SkAction.Drop)
        .Build(SuiteProgramNames.SelectSockA);

    /// <summary>
    /// Selects server A, and tells the kernel not to let its reuseport group pick another member.
    /// <code>
    /// int select_sock_a_no_reuseport(struct bpf_sk_lookup *ctx)
    /// {
    ///     sk = bpf_map_lookup_elem(&amp;redir_map, &amp;KEY_SERVER_A);
    ///     if (!sk) return SK_DROP;
    ///     err = bpf_sk_assign(ctx, sk, BPF_SK_LOOKUP_F_NO_REUSEPORT);
    ///     bpf_sk_release(sk);
    ///     return err ? SK_DROP : SK_PASS;
    /// }
    /// </code>
    /// </summary>
    public static ProgramSpec SelectSockANoReuseport() => SelectServerA(new Assembler().Mov(R6, R1), SkAssignFlags.NoReuseport, emptySlot: "drop")
        .Label("pass").Return(SkAction.Pass)
        .Label("drop").Return(SkAction.Drop)
        .Build(SuiteProgramNames.SelectSockANoReuseport);

    /// <summary>
    /// A reuseport program that picks server B from redir_map.
    /// <code>
    /// SEC("sk_reuseport")
    /// int select_sock_b(struct sk_reuseport_md *ctx)
    /// {
    ///     __u32 key = KEY_SERVER_B;
    ///     err = bpf_sk_select_reuseport(ctx, &amp;redir_map, &amp;key, 0);
    ///     return err ? SK_DROP : SK_PASS;
    /// }
    /// </code>
    /// </summary>
    public static ProgramSpec SelectSockB() => new Assembler()
        .Store(Size.Word, R10, KeySlot, (int)SuiteAddresses.ServerB)
        .LoadMapPointer(R2, RedirMap)                                   // r1 still holds ctx
        .Mov(R3, R10).Add(R3, KeySlot)
        .Mov(R4, 0)
        .Call(HelperFunction.SkSelectReuseport)
        .JumpIf(R0, JumpOp.NotEqual, 0, "drop")
        .Return(SkAction.Pass)
        .Label("drop").Return(SkAction.Drop)
        .Build(SuiteProgramNames.SelectSockB, ProgramType.SkReuseport, AttachType.SkReuseportSelectOrMigrate);

    // ---- bpf_sk_assign checks -----------------------------------------------------------------

    /// <summary>
    /// Checks that bpf_sk_assign() returns -EEXIST when a socket is already selected; selects server B.
    /// <code>
    /// int sk_assign_eexist(struct bpf_sk_lookup *ctx)
    /// {
    ///     ret = SK_DROP;
    ///     sk = bpf_map_lookup_elem(&amp;redir_map, &amp;KEY_SERVER_B);
    ///     if (!sk) goto out;
    ///     err = bpf_sk_assign(ctx, sk, 0);
    ///     if (err) goto out;
    ///     bpf_sk_release(sk);
    ///     sk = bpf_map_lookup_elem(&amp;redir_map, &amp;KEY_SERVER_A);
    ///     if (!sk) goto out;
    ///     err = bpf_sk_assign(ctx, sk, 0);
    ///     if (err != -EEXIST) goto out;
    ///     ret = SK_PASS; /* Success, redirect to KEY_SERVER_B */
    /// out:
    ///     if (sk) bpf_sk_release(sk);
    ///     return ret;
    /// }
    /// </code>
    /// </summary>
    public static ProgramSpec SkAssignEexist()
    {
        var asm = new Assembler().Mov(R6, R1);
        LookupSlot(asm, SuiteAddresses.ServerB).JumpIf(R0, JumpOp.Equal, 0, "drop").Mov(R7, R0);
        Assign(asm, R7, SkAssignFlags.None).JumpIf(R0, JumpOp.NotEqual, 0, "release_and_drop");
        asm.Mov(R1, R7).Call(HelperFunction.SkRelease);
        LookupSlot(asm, SuiteAddresses.ServerA).JumpIf(R0, JumpOp.Equal, 0, "drop").Mov(R7, R0);
        Assign(asm, R7, SkAssignFlags.None).JumpIf(R0, JumpOp.NotEqual, -EEXIST, "release_and_drop");
        return asm.Mov(R1, R7).Call(HelperFunction.SkRelease)
            .Return(SkAction.Pass)
            .Label("release_and_drop").Mov(R1, R7).Call(HelperFunction.SkRelease)
            .Label("drop").Return(SkAction.Drop)
            .Build(SuiteProgramNames.SkAssignEexist);
    }

    /// <summary>
    /// Checks that BPF_SK_LOOKUP_F_REPLACE overrides a selection; selects server A, then server B.
    /// <code>
    /// int sk_assign_replace_flag(struct bpf_sk_lookup *ctx)
    /// {
    ///     ret = SK_DROP;
    ///     sk = bpf_map_lookup_elem(&amp;redir_map, &amp;KEY_SERVER_A);
    ///     if (!sk) goto out;
    ///     err = bpf_sk_assign(ctx, sk, 0);
    ///     if (err) goto out;
    ///     bpf_sk_release(sk);
    ///     sk = bpf_map_lookup_elem(&amp;redir_map, &amp;KEY_SERVER_B);
    ///     if (!sk) goto out;
    ///     err = bpf_sk_assign(ctx, sk, BPF_SK_LOOKUP_F_REPLACE);
    ///     if (err) goto out;
    ///     ret = SK_PASS; /* Success, redirect to KEY_SERVER_B */
    /// out:
    ///     if (sk) bpf_sk_release(sk);
    ///     return ret;
    /// }
    /// </code>
    /// </summary>
    public static ProgramSpec SkAssignReplaceFlag()
    {
        var asm = new Assembler().Mov(R6, R1);
        LookupSlot(asm, SuiteAddresses.ServerA).JumpIf(R0, JumpOp.Equal, 0, "drop").Mov(R7, R0);
        Assign(asm, R7, SkAssignFlags.None).JumpIf(R0, JumpOp.NotEqual, 0, "release_and_drop");
        asm.Mov(R1, R7).Call(HelperFunction.SkRelease);
        LookupSlot(asm, SuiteAddresses.ServerB).JumpIf(R0, JumpOp.Equal, 0, "drop").Mov(R7, R0);
        Assign(asm, R7, SkAssignFlags.Replace).JumpIf(R0, JumpOp.NotEqual, 0, "release_and_drop");
        return asm.Mov(R1, R7).Call(HelperFunction.SkRelease)
            .Return(SkAction.Pass)
            .Label("release_and_drop").Mov(R1, R7).Call(HelperFunction.SkRelease)
            .Label("drop").Return(SkAction.Drop)
            .Build(SuiteProgramNames.SkAssignReplaceFlag);
    }

    /// <summary>
    /// Checks that bpf_sk_assign() takes a NULL socket: alone it is accepted, after a selection it gives
    /// -EEXIST, and with F_REPLACE it clears the selection. Ends with server B selected.
    /// <code>
    /// int sk_assign_null(struct bpf_sk_lookup *ctx)
    /// {
    ///     struct bpf_sock *sk = NULL;
    ///     ret = SK_DROP;
    ///     err = bpf_sk_assign(ctx, NULL, 0);
    ///     if (err) goto out;
    ///     sk = bpf_map_lookup_elem(&amp;redir_map, &amp;KEY_SERVER_B);
    ///     if (!sk) goto out;
    ///     err = bpf_sk_assign(ctx, sk, BPF_SK_LOOKUP_F_REPLACE);
    ///     if (err) goto out;
    ///     if (ctx->sk != sk) goto out;
    ///     err = bpf_sk_assign(ctx, NULL, 0);
    ///     if (err != -EEXIST) goto out;
    ///     err = bpf_sk_assign(ctx, NULL, BPF_SK_LOOKUP_F_REPLACE);
    ///     if (err) goto out;
    ///     err = bpf_sk_assign(ctx, sk, BPF_SK_LOOKUP_F_REPLACE);
    ///     if (err) goto out;
    ///     ret = SK_PASS; /* Success, redirect to KEY_SERVER_B */
    /// out:
    ///     if (sk) bpf_sk_release(sk);
    ///     return ret;
    /// }
    /// </code>
    /// </summary>
    public static ProgramSpec SkAssignNull()
    {
        var asm = new Assembler().Mov(R6, R1);
        AssignNull(asm, SkAssignFlags.None).JumpIf(R0, JumpOp.NotEqual, 0, "drop");
        LookupSlot(asm, SuiteAddresses.ServerB).JumpIf(R0, JumpOp.Equal, 0, "drop").Mov(R7, R0);
        Assign(asm, R7, SkAssignFlags.Replace).JumpIf(R0, JumpOp.NotEqual, 0, "release_and_drop");
        asm.Load(Size.DoubleWord, R2, R6, SkLookupContext.Socket)
            .JumpIf(R2, JumpOp.NotEqual, R7, "release_and_drop");
        AssignNull(asm, SkAssignFlags.None).JumpIf(R0, JumpOp.NotEqual, -EEXIST, "release_and_drop");
        AssignNull(asm, SkAssignFlags.Replace).JumpIf(R0, JumpOp.NotEqual, 0, "release_and_drop");
        Assign(asm, R7, SkAssignFlags.Replace).JumpIf(R0, JumpOp.NotEqual, 0, "release_and_drop");
        return asm.Mov(R1, R7).Call(HelperFunction.SkRelease)
            .Return(SkAction.Pass)
            .Label("release_and_drop").Mov(R1, R7).Call(HelperFunction.SkRelease)
            .Label("drop").Return(SkAction.Drop)
            .Build(SuiteProgramNames.SkAssignNull);
    }

    /// <summary>
    /// Checks that the selected socket can be read through ctx->sk, and follows every (re)selection.
    /// Ends with server B selected.
    /// <code>
    /// int access_ctx_sk(struct bpf_sk_lookup *ctx)
    /// {
    ///     struct bpf_sock *sk1 = NULL, *sk2 = NULL;
    ///     ret = SK_DROP;
    ///     if (ctx->sk &amp;&amp; ctx->sk->family != AF_INET) goto out;  /* unassigned (NULL) ctx->sk */
    ///     sk1 = bpf_map_lookup_elem(&amp;redir_map, &amp;KEY_SERVER_A);
    ///     if (!sk1) goto out;
    ///     err = bpf_sk_assign(ctx, sk1, 0);
    ///     if (err) goto out;
    ///     if (ctx->sk != sk1) goto out;
    ///     if (ctx->sk->family != AF_INET || ctx->sk->type != SOCK_STREAM ||
    ///         ctx->sk->state != BPF_TCP_LISTEN) goto out;
    ///     err = bpf_sk_assign(ctx, NULL, BPF_SK_LOOKUP_F_REPLACE);  /* reset selection */
    ///     if (err) goto out;
    ///     if (ctx->sk) goto out;
    ///     sk2 = bpf_map_lookup_elem(&amp;redir_map, &amp;KEY_SERVER_B);
    ///     if (!sk2) goto out;
    ///     err = bpf_sk_assign(ctx, sk2, BPF_SK_LOOKUP_F_REPLACE);
    ///     if (err) goto out;
    ///     if (ctx->sk != sk2) goto out;
    ///     if (ctx->sk->family != AF_INET || ctx->sk->type != SOCK_STREAM ||
    ///         ctx->sk->state != BPF_TCP_LISTEN) goto out;
    ///     ret = SK_PASS; /* Success, redirect to KEY_SERVER_B */
    /// out:
    ///     if (sk1) bpf_sk_release(sk1);
    ///     if (sk2) bpf_sk_release(sk2);
    ///     return ret;
    /// }
    /// </code>
    /// </summary>
    public static ProgramSpec AccessCtxSk()
    {
        var asm = new Assembler().Mov(R6, R1)
            .Load(Size.DoubleWord, R2, R6, SkLookupContext.Socket)
            .JumpIf(R2, JumpOp.Equal, 0, "select_a")
            .Load(Size.Word, R3, R2, BpfSockFamily)
            .JumpIf32(R3, JumpOp.NotEqual, SkLookupContext.AfInet, "drop")
            .Label("select_a");
        LookupSlot(asm, SuiteAddresses.ServerA).JumpIf(R0, JumpOp.Equal, 0, "drop").Mov(R7, R0);
        Assign(asm, R7, SkAssignFlags.None).JumpIf(R0, JumpOp.NotEqual, 0, "release_a_and_drop");
        CheckContextSocketIs(asm, R7, "release_a_and_drop");
        AssignNull(asm, SkAssignFlags.Replace).JumpIf(R0, JumpOp.NotEqual, 0, "release_a_and_drop");
        asm.Load(Size.DoubleWord, R2, R6, SkLookupContext.Socket)
            .JumpIf(R2, JumpOp.NotEqual, 0, "release_a_and_drop");
        LookupSlot(asm, SuiteAddresses.ServerB).JumpIf(R0, JumpOp.Equal, 0, "release_a_and_drop").Mov(R8, R0);
        Assign(asm, R8, SkAssignFlags.Replace).JumpIf(R0, JumpOp.NotEqual, 0, "release_both_and_drop");
        CheckContextSocketIs(asm, R8, "release_both_and_drop");
        return asm.Mov(R1, R7).Call(HelperFunction.SkRelease)
            .Mov(R1, R8).Call(HelperFunction.SkRelease)
            .Return(SkAction.Pass)
            .Label("release_both_and_drop").Mov(R1, R8).Call(HelperFunction.SkRelease)
            .Label("release_a_and_drop").Mov(R1, R7).Call(HelperFunction.SkRelease)
            .Label("drop").Return(SkAction.Drop)
            .Build(SuiteProgramNames.AccessCtxSk);
    }

    /// <summary>
    /// Checks every narrow (1- and 2-byte) load and every full load of the context's fields against the
    /// lookup the kernel suite runs: TCP from SRC (127.0.0.2 or fd00::2, port 8008) to DST (127.0.0.1 or
    /// fd00::1, port 7007). Fields of the other family must read 0. On success it selects server B.
    /// <code>
    /// int ctx_narrow_access(struct bpf_sk_lookup *ctx)
    /// {
    ///     v4 = (ctx->family == AF_INET);
    ///     if (LSB(ctx->family, 0) != (v4 ? AF_INET : AF_INET6) || LSB(ctx->family, 1) != 0 || ...)
    ///         return SK_DROP;
    ///     if (LSW(ctx->family, 0) != (v4 ? AF_INET : AF_INET6))
    ///         return SK_DROP;
    ///     /* ... the same for protocol (IPPROTO_TCP), remote_port (SRC_PORT), local_port (DST_PORT),
    ///        remote_ip4/local_ip4 (SRC_IP4/DST_IP4, or 0 when v6) and every byte and half-word of
    ///        remote_ip6/local_ip6 (SRC_IP6/DST_IP6, or 0 when v4) ... */
    ///     sk = bpf_map_lookup_elem(&amp;redir_map, &amp;KEY_SERVER_B);
    ///     if (sk) {
    ///         bpf_sk_assign(ctx, sk, 0);
    ///         bpf_sk_release(sk);
    ///     }
    ///     return SK_PASS;
    /// }
    /// </code>
    /// Differences from the C, both because of how the kernel rewrites narrow loads: the fields the
    /// kernel keeps in 16 bits (family, protocol, local_port) are read as half-words only at their low
    /// half (a half-word load of the high half reads the whole field, as the C's comment warns); and
    /// <c>remote_port</c> is a <c>__be16</c> followed by 2 bytes of zero padding (Linux 5.18+), so its
    /// bytes 2 and 3 are read as that padding.
    /// </summary>
    public static ProgramSpec CtxNarrowAccess()
    {
        var asm = new Assembler().Mov(R6, R1)
            .Load(Size.Word, R2, R6, SkLookupContext.Family)
            .JumpIf32(R2, JumpOp.Equal, SkLookupContext.AfInet, "v4");
        EmitNarrowChecks(asm, ExpectedNarrowAccessContext(ipv6: true));
        asm.Jump("checked").Label("v4");
        EmitNarrowChecks(asm, ExpectedNarrowAccessContext(ipv6: false));
        asm.Label("checked");
        LookupSlot(asm, SuiteAddresses.ServerB).JumpIf(R0, JumpOp.Equal, 0, "pass").Mov(R7, R0);
        Assign(asm, R7, SkAssignFlags.None);
        return asm.Mov(R1, R7).Call(HelperFunction.SkRelease)
            .Label("pass").Return(SkAction.Pass)
            .Label("drop").Return(SkAction.Drop)
            .Build(SuiteProgramNames.CtxNarrowAccess);
    }

    /// <summary>
    /// Checks that bpf_sk_assign() refuses server A (an established TCP or a connected UDP socket) with
    /// -ESOCKTNOSUPPORT, and then lets the regular lookup go on.
    /// <code>
    /// int sk_assign_esocknosupport(struct bpf_sk_lookup *ctx)
    /// {
    ///     ret = SK_DROP;
    ///     sk = bpf_map_lookup_elem(&amp;redir_map, &amp;KEY_SERVER_A);
    ///     if (!sk) goto out;
    ///     err = bpf_sk_assign(ctx, sk, 0);
    ///     if (err != -ESOCKTNOSUPPORT) goto out;
    ///     ret = SK_PASS; /* Success, pass to regular lookup */
    /// out:
    ///     if (sk) bpf_sk_release(sk);
    ///     return ret;
    /// }
    /// </code>
    /// </summary>
    public static ProgramSpec SkAssignEsocknosupport()
    {
        var asm = new Assembler().Mov(R6, R1);
        LookupSlot(asm, SuiteAddresses.ServerA).JumpIf(R0, JumpOp.Equal, 0, "drop").Mov(R7, R0);
        Assign(asm, R7, SkAssignFlags.None).JumpIf(R0, JumpOp.NotEqual, -ESOCKTNOSUPPORT, "release_and_drop");
        return asm.Mov(R1, R7).Call(HelperFunction.SkRelease)
            .Return(SkAction.Pass)
            .Label("release_and_drop").Mov(R1, R7).Call(HelperFunction.SkRelease)
            .Label("drop").Return(SkAction.Drop)
            .Build(SuiteProgramNames.SkAssignEsocknosupport);
    }

    // ---- Multiple programs ------------------------------------------------------------------

    /// <summary><c>int multi_prog_pass1(ctx) { bpf_map_update_elem(&amp;run_map, &amp;KEY_PROG1, &amp;PROG_DONE, BPF_ANY); return SK_PASS; }</c></summary>
    public static ProgramSpec MultiProgPass1() => MarkRunThenReturn(SuiteProgramNames.MultiProgPass1, SuiteAddresses.Prog1, SkAction.Pass, selectServerAFirst: false);

    /// <summary><c>int multi_prog_pass2(ctx) { bpf_map_update_elem(&amp;run_map, &amp;KEY_PROG2, &amp;PROG_DONE, BPF_ANY); return SK_PASS; }</c></summary>
    public static ProgramSpec MultiProgPass2() => MarkRunThenReturn(SuiteProgramNames.MultiProgPass2, SuiteAddresses.Prog2, SkAction.Pass, selectServerAFirst: false);

    /// <summary><c>int multi_prog_drop1(ctx) { bpf_map_update_elem(&amp;run_map, &amp;KEY_PROG1, &amp;PROG_DONE, BPF_ANY); return SK_DROP; }</c></summary>
    public static ProgramSpec MultiProgDrop1() => MarkRunThenReturn(SuiteProgramNames.MultiProgDrop1, SuiteAddresses.Prog1, SkAction.Drop, selectServerAFirst: false);

    /// <summary><c>int multi_prog_drop2(ctx) { bpf_map_update_elem(&amp;run_map, &amp;KEY_PROG2, &amp;PROG_DONE, BPF_ANY); return SK_DROP; }</c></summary>
    public static ProgramSpec MultiProgDrop2() => MarkRunThenReturn(SuiteProgramNames.MultiProgDrop2, SuiteAddresses.Prog2, SkAction.Drop, selectServerAFirst: false);

    /// <summary>
    /// <code>
    /// int multi_prog_redir1(struct bpf_sk_lookup *ctx)
    /// {
    ///     select_server_a(ctx);   /* lookup A, bpf_sk_assign(ctx, sk, 0), bpf_sk_release(sk) */
    ///     bpf_map_update_elem(&amp;run_map, &amp;KEY_PROG1, &amp;PROG_DONE, BPF_ANY);
    ///     return SK_PASS;
    /// }
    /// </code>
    /// </summary>
    public static ProgramSpec MultiProgRedir1() => MarkRunThenReturn(SuiteProgramNames.MultiProgRedir1, SuiteAddresses.Prog1, SkAction.Pass, selectServerAFirst: true);

    /// <summary>As <see cref="MultiProgRedir1"/>, marking run_map[KEY_PROG2].</summary>
    public static ProgramSpec MultiProgRedir2() => MarkRunThenReturn(SuiteProgramNames.MultiProgRedir2, SuiteAddresses.Prog2, SkAction.Pass, selectServerAFirst: true);

    // ---- Pieces -----------------------------------------------------------------------------

    private static ProgramSpec MarkRunThenReturn(string name, int runSlot, SkAction verdict, bool selectServerAFirst)
    {
        var asm = new Assembler().Mov(R6, R1);
        if (selectServerAFirst)
        {
            // select_server_a(): its verdict is ignored, as in the C.
            LookupSlot(asm, SuiteAddresses.ServerA).JumpIf(R0, JumpOp.Equal, 0, "mark").Mov(R7, R0);
            Assign(asm, R7, SkAssignFlags.None);
            asm.Mov(R1, R7).Call(HelperFunction.SkRelease);
        }
        return asm.Label("mark")
            .Store(Size.Word, R10, KeySlot, runSlot)                       // bpf_map_update_elem(&run_map, &key,
            .Store(Size.Word, R10, ValueSlot, 1)                           //                     &PROG_DONE, BPF_ANY)
            .LoadMapPointer(R1, RunMap)
            .Mov(R2, R10).Add(R2, KeySlot)
            .Mov(R3, R10).Add(R3, ValueSlot)
            .Mov(R4, BpfAny)
            .Call(HelperFunction.MapUpdateElem)
            .Return(verdict)
            .Build(name);
    }

    /// <summary><c>if (ctx->local_port != port) goto label;</c> with ctx in R6.</summary>
    private static void IfLocalPortIsNot(Assembler asm, int port, string label) => asm
        .Load(Size.Word, R2, R6, SkLookupContext.LocalPort)
        .JumpIf32(R2, JumpOp.NotEqual, port, label);

    /// <summary><c>r0 = bpf_map_lookup_elem(&amp;redir_map, &amp;slot)</c>.</summary>
    private static Assembler LookupSlot(Assembler asm, uint slot) => asm
        .Store(Size.Word, R10, KeySlot, (int)slot)
        .LoadMapPointer(R1, RedirMap)
        .Mov(R2, R10).Add(R2, KeySlot)
        .Call(HelperFunction.MapLookupElem);

    /// <summary><c>r0 = bpf_sk_assign(ctx, sk, flags)</c> with ctx in R6.</summary>
    private static Assembler Assign(Assembler asm, Register socket, SkAssignFlags flags) => asm
        .Mov(R1, R6).Mov(R2, socket).Mov(R3, (int)flags)
        .Call(HelperFunction.SkAssign);

    /// <summary><c>r0 = bpf_sk_assign(ctx, NULL, flags)</c> with ctx in R6.</summary>
    private static Assembler AssignNull(Assembler asm, SkAssignFlags flags) => asm
        .Mov(R1, R6).Mov(R2, 0).Mov(R3, (int)flags)
        .Call(HelperFunction.SkAssign);

    /// <summary>
    /// The shared body of the redirecting programs: select server A with <paramref name="flags"/>, release it,
    /// and go to "drop" if the kernel refused it, else to "pass". An empty slot goes to <paramref name="emptySlot"/>.
    /// </summary>
    private static Assembler SelectServerA(Assembler asm, SkAssignFlags flags, string emptySlot)
    {
        LookupSlot(asm, SuiteAddresses.ServerA).JumpIf(R0, JumpOp.Equal, 0, emptySlot).Mov(R7, R0);
        Assign(asm, R7, flags).Mov(R8, R0);
        return asm.Mov(R1, R7).Call(HelperFunction.SkRelease)
            .JumpIf(R8, JumpOp.NotEqual, 0, "drop")
            .Jump("pass");
    }

    /// <summary>
    /// <c>if (ctx->sk != sk) goto fail;</c> then <c>if (ctx->sk->family != AF_INET || ctx->sk->type !=
    /// SOCK_STREAM || ctx->sk->state != BPF_TCP_LISTEN) goto fail;</c>. The explicit NULL test lets the
    /// verifier dereference ctx->sk on every kernel, however it tracks pointer comparisons.
    /// </summary>
    private static void CheckContextSocketIs(Assembler asm, Register socket, string fail) => asm
        .Load(Size.DoubleWord, R2, R6, SkLookupContext.Socket)
        .JumpIf(R2, JumpOp.Equal, 0, fail)
        .JumpIf(R2, JumpOp.NotEqual, socket, fail)
        .Load(Size.Word, R3, R2, BpfSockFamily)
        .JumpIf32(R3, JumpOp.NotEqual, SkLookupContext.AfInet, fail)
        .Load(Size.Word, R3, R2, BpfSockType)
        .JumpIf32(R3, JumpOp.NotEqual, SockStream, fail)
        .Load(Size.Word, R3, R2, BpfSockState)
        .JumpIf32(R3, JumpOp.NotEqual, BpfTcpListen, fail);

    /// <summary>
    /// The context ctx_narrow_access expects, as the bytes of <c>struct bpf_sk_lookup</c>: a TCP lookup from
    /// SRC = (INT_IP, INT_PORT) to DST = (EXT_IP, EXT_PORT), the direction of the kernel suite's test run.
    /// </summary>
    private static byte[] ExpectedNarrowAccessContext(bool ipv6)
    {
        var remote = new IPEndPoint(ipv6 ? SuiteAddresses.InternalIp6 : SuiteAddresses.InternalIp4, SuiteAddresses.InternalPort);
        var local = new IPEndPoint(ipv6 ? SuiteAddresses.ExternalIp6 : SuiteAddresses.ExternalIp4, SuiteAddresses.ExternalPort);
        var context = new byte[SkLookupContext.Size];
        new SkLookupTestInput(System.Net.Sockets.ProtocolType.Tcp, remote, local).Encode(context);
        return context;
    }

    /// <summary>
    /// For each readable field, loads every byte, the allowed half-words and the whole word, and goes to
    /// "drop" when one differs from <paramref name="expected"/>, read with the host's byte order as the load does.
    /// </summary>
    private static void EmitNarrowChecks(Assembler asm, byte[] expected)
    {
        // Fields the kernel keeps in 16 bits: a half-word load only at the low half (see the summary).
        foreach (var field in new[] { SkLookupContext.Family, SkLookupContext.Protocol, SkLookupContext.LocalPort })
        {
            for (var i = 0; i < 4; i++)
                Check(asm, expected, Size.Byte, (short)(field + i));
            Check(asm, expected, Size.Half, LowHalfOffset(field));
            Check(asm, expected, Size.Word, field);
        }
        // remote_port (__be16) and the padding after it.
        for (var i = 0; i < 4; i++)
            Check(asm, expected, Size.Byte, (short)(SkLookupContext.RemotePort + i));
        Check(asm, expected, Size.Half, SkLookupContext.RemotePort);
        Check(asm, expected, Size.Half, SkLookupContext.RemotePort + 2);
        Check(asm, expected, Size.Word, SkLookupContext.RemotePort);
        // The address words, which the kernel keeps in 32 bits.
        var addressWords = new List<short> { SkLookupContext.RemoteIp4, SkLookupContext.LocalIp4 };
        for (var word = 0; word < 4; word++)
        {
            addressWords.Add((short)(SkLookupContext.RemoteIp6 + 4 * word));
            addressWords.Add((short)(SkLookupContext.LocalIp6 + 4 * word));
        }
        foreach (var field in addressWords)
        {
            for (var i = 0; i < 4; i++)
                Check(asm, expected, Size.Byte, (short)(field + i));
            Check(asm, expected, Size.Half, field);
            Check(asm, expected, Size.Half, (short)(field + 2));
            Check(asm, expected, Size.Word, field);
        }
    }

    // On a big-endian host the low half of a u32 is its second half-word.
    private static short LowHalfOffset(short field) => BitConverter.IsLittleEndian ? field : (short)(field + 2);

    private static void Check(Assembler asm, byte[] expected, Size size, short offset)
    {
        var bytes = expected.AsSpan(offset);
        var value = size switch
        {
            Size.Byte => bytes[0],
            Size.Half => BitConverter.IsLittleEndian ? BinaryPrimitives.ReadUInt16LittleEndian(bytes) : BinaryPrimitives.ReadUInt16BigEndian(bytes),
            _ => HostWord(bytes),
        };
        asm.Load(size, R2, R6, offset).JumpIf32(R2, JumpOp.NotEqual, value, "drop");
    }

    /// <summary>The u32 a 4-byte load reads from <paramref name="bytes"/> on this host.</summary>
    private static int HostWord(ReadOnlySpan<byte> bytes) => BitConverter.IsLittleEndian
        ? BinaryPrimitives.ReadInt32LittleEndian(bytes)
        : BinaryPrimitives.ReadInt32BigEndian(bytes);
}
