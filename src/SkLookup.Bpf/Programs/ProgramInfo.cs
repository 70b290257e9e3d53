using SkLookup.Bpf.Interop;

namespace SkLookup.Bpf;

/// <summary>What the kernel reports about a program (<c>struct bpf_prog_info</c>).</summary>
/// <param name="Id">The kernel's id of the program.</param>
/// <param name="Name">The program's name (15 characters at most).</param>
/// <param name="Type">The program type.</param>
/// <param name="Tag">The 8-byte tag (a hash of the instructions), as 16 hex digits.</param>
/// <param name="RunCount">How many times it ran; counted only while BPF stats are enabled.</param>
/// <param name="RunTimeNs">Total run time in ns; counted only while BPF stats are enabled.</param>
/// <param name="VerifiedInstructions">How many instructions the verifier processed.</param>
/// <param name="MapIdsCount">How many maps the program uses.</param>
public sealed record ProgramInfo(uint Id, string Name, ProgramType Type, string Tag, ulong RunCount, ulong RunTimeNs, uint VerifiedInstructions, uint MapIdsCount)
{
    internal static unsafe ProgramInfo Read(FileDescriptor fd)
    {
        var info = BpfSyscall.GetInfo<BpfProgInfo>(fd, "read program info");
        var tag = Convert.ToHexStringLower(new ReadOnlySpan<byte>(info.Tag, 8));
        return new ProgramInfo(info.Id, BpfSyscall.ReadObjectName(info.Name), (ProgramType)info.Type, tag,
            info.RunCount, info.RunTimeNs, info.VerifiedInsns, info.NrMapIds);
    }
}
