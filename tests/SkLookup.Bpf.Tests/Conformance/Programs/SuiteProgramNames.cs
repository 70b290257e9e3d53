namespace SkLookup.Bpf.Tests.Conformance.Programs;

/// <summary>The names of the kernel suite's programs (progs/test_sk_lookup.c), shared by every program source.</summary>
public static class SuiteProgramNames
{
    /// <summary><c>lookup_pass</c>.</summary>
    public const string LookupPass = "lookup_pass";

    /// <summary><c>lookup_drop</c>.</summary>
    public const string LookupDrop = "lookup_drop";

    /// <summary><c>check_ifindex</c>.</summary>
    public const string CheckIfindex = "check_ifindex";

    /// <summary><c>reuseport_pass</c>.</summary>
    public const string ReuseportPass = "reuseport_pass";

    /// <summary><c>reuseport_drop</c>.</summary>
    public const string ReuseportDrop = "reuseport_drop";

    /// <summary><c>redir_port</c>.</summary>
    public const string RedirPort = "redir_port";

    /// <summary><c>redir_ip4</c>.</summary>
    public const string RedirIp4 = "redir_ip4";

    /// <summary><c>redir_ip6</c>.</summary>
    public const string RedirIp6 = "redir_ip6";

    /// <summary><c>select_sock_a_no_reuseport</c>.</summary>
    public const string SelectSockANoReuseport = "select_sock_a_no_reuseport";

    /// <summary><c>select_sock_a</c>.</summary>
    public const string SelectSockA = "select_sock_a";

    /// <summary><c>select_sock_b</c>.</summary>
    public const string SelectSockB = "select_sock_b";

    /// <summary><c>sk_assign_eexist</c>.</summary>
    public const string SkAssignEexist = "sk_assign_eexist";

    /// <summary><c>sk_assign_replace_flag</c>.</summary>
    public const string SkAssignReplaceFlag = "sk_assign_replace_flag";

    /// <summary><c>sk_assign_null</c>.</summary>
    public const string SkAssignNull = "sk_assign_null";

    /// <summary><c>access_ctx_sk</c>.</summary>
    public const string AccessCtxSk = "access_ctx_sk";

    /// <summary><c>ctx_narrow_access</c>.</summary>
    public const string CtxNarrowAccess = "ctx_narrow_access";

    /// <summary><c>sk_assign_esocknosupport</c>.</summary>
    public const string SkAssignEsocknosupport = "sk_assign_esocknosupport";

    /// <summary><c>multi_prog_pass1</c>.</summary>
    public const string MultiProgPass1 = "multi_prog_pass1";

    /// <summary><c>multi_prog_pass2</c>.</summary>
    public const string MultiProgPass2 = "multi_prog_pass2";

    /// <summary><c>multi_prog_drop1</c>.</summary>
    public const string MultiProgDrop1 = "multi_prog_drop1";

    /// <summary><c>multi_prog_drop2</c>.</summary>
    public const string MultiProgDrop2 = "multi_prog_drop2";

    /// <summary><c>multi_prog_redir1</c>.</summary>
    public const string MultiProgRedir1 = "multi_prog_redir1";

    /// <summary><c>multi_prog_redir2</c>.</summary>
    public const string MultiProgRedir2 = "multi_prog_redir2";
}
