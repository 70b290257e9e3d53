namespace SkLookup.Bpf.Asm;

/// <summary>Kernel helper functions, with the kernel's numbering (<c>__BPF_FUNC_MAPPER</c>).</summary>
public enum HelperFunction
{
    /// <summary>void *bpf_map_lookup_elem(map, key)</summary>
    MapLookupElem = 1,
    /// <summary>long bpf_map_update_elem(map, key, value, flags)</summary>
    MapUpdateElem = 2,
    /// <summary>long bpf_map_delete_elem(map, key)</summary>
    MapDeleteElem = 3,
    /// <summary>u64 bpf_ktime_get_ns(void)</summary>
    KtimeGetNs = 5,
    /// <summary>long bpf_trace_printk(fmt, fmt_size, ...)</summary>
    TracePrintk = 6,
    /// <summary>u32 bpf_get_prandom_u32(void)</summary>
    GetPrandomU32 = 7,
    /// <summary>u32 bpf_get_smp_processor_id(void)</summary>
    GetSmpProcessorId = 8,
    /// <summary>long bpf_perf_event_output(ctx, map, flags, data, size)</summary>
    PerfEventOutput = 25,
    /// <summary>long bpf_sk_select_reuseport(reuse, map, key, flags)</summary>
    SkSelectReuseport = 82,
    /// <summary>long bpf_sk_release(sock)</summary>
    SkRelease = 86,
    /// <summary>long bpf_sk_assign(ctx, sk, flags)</summary>
    SkAssign = 124,
}
