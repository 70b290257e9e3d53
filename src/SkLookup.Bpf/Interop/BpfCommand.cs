namespace SkLookup.Bpf.Interop;

/// <summary>The <c>cmd</c> argument of <c>bpf(2)</c>, with the kernel's numbering (<c>enum bpf_cmd</c>).</summary>
internal enum BpfCommand
{
    MapCreate = 0,              // BPF_MAP_CREATE
    MapLookupElem = 1,          // BPF_MAP_LOOKUP_ELEM
    MapUpdateElem = 2,          // BPF_MAP_UPDATE_ELEM
    MapDeleteElem = 3,          // BPF_MAP_DELETE_ELEM
    MapGetNextKey = 4,          // BPF_MAP_GET_NEXT_KEY
    ProgLoad = 5,               // BPF_PROG_LOAD
    ObjPin = 6,                 // BPF_OBJ_PIN
    ObjGet = 7,                 // BPF_OBJ_GET
    ProgTestRun = 10,           // BPF_PROG_TEST_RUN
    ProgGetNextId = 11,         // BPF_PROG_GET_NEXT_ID
    MapGetNextId = 12,          // BPF_MAP_GET_NEXT_ID
    ProgGetFdById = 13,         // BPF_PROG_GET_FD_BY_ID
    MapGetFdById = 14,          // BPF_MAP_GET_FD_BY_ID
    ObjGetInfoByFd = 15,        // BPF_OBJ_GET_INFO_BY_FD
    ProgQuery = 16,             // BPF_PROG_QUERY
    BtfLoad = 18,               // BPF_BTF_LOAD
    MapFreeze = 22,             // BPF_MAP_FREEZE
    MapLookupBatch = 24,        // BPF_MAP_LOOKUP_BATCH
    MapLookupAndDeleteBatch = 25, // BPF_MAP_LOOKUP_AND_DELETE_BATCH
    MapUpdateBatch = 26,        // BPF_MAP_UPDATE_BATCH
    MapDeleteBatch = 27,        // BPF_MAP_DELETE_BATCH
    LinkCreate = 28,            // BPF_LINK_CREATE
    LinkUpdate = 29,            // BPF_LINK_UPDATE
    LinkGetFdById = 30,         // BPF_LINK_GET_FD_BY_ID
    LinkGetNextId = 31,         // BPF_LINK_GET_NEXT_ID
    EnableStats = 32,           // BPF_ENABLE_STATS
    LinkDetach = 34,            // BPF_LINK_DETACH
}
