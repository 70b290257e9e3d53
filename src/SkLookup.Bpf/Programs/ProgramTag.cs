using System.Runtime.InteropServices;
using SkLookup.Bpf.Asm;

namespace SkLookup.Bpf;

/// <summary>
/// Computes the tag the kernel gives a program (<c>bpf_prog_info.tag</c>) without loading it, so that
/// a control plane can tell whether an attached program is the one it would load (the steering layer
/// compares its dispatcher this way), the way cilium/ebpf's <c>ProgramSpec.Tag</c> does.
/// </summary>
/// <remarks>
/// The kernel hashes the instructions as user space passed them, except that it zeroes both
/// immediates of every LD_IMM64 that refers to a map (pseudo map fd or map value), because fds differ
/// from one process to the next. The tag is the first 8 bytes of the digest. Kernels up to 6.17 use
/// SHA-1; 6.18 switched to SHA-256 (the digest that program signing also uses). Both are computed, and
/// a kernel tag that equals either is a match: a collision between them is not a practical concern.
/// The tests check this against the running kernel (and the steering layer relies on it for every write).
/// </remarks>
public static class ProgramTag
{
    /// <summary>True if <paramref name="kernelTag"/> (16 hex digits, as <see cref="ProgramInfo.Tag"/> shows it) is the tag of <paramref name="spec"/>.</summary>
    public static bool Matches(ProgramSpec spec, string kernelTag)
    {
        var (sha1, sha256) = Compute(spec);
        return string.Equals(kernelTag, sha1, StringComparison.OrdinalIgnoreCase) || string.Equals(kernelTag, sha256, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The tag of <paramref name="spec"/> as older kernels (SHA-1) and newer ones (SHA-256) compute it.</summary>
    public static (string Sha1, string Sha256) Compute(ProgramSpec spec)
    {
        var bytes = HashedBytes(spec);
        return (Convert.ToHexStringLower(ShaDigest.Sha1(bytes).AsSpan(0, 8)), Convert.ToHexStringLower(ShaDigest.Sha256(bytes).AsSpan(0, 8)));
    }

    private static byte[] HashedBytes(ProgramSpec spec)
    {
        var instructions = new Instruction[spec.Instructions.Count];
        for (var i = 0; i < instructions.Length; i++)
            instructions[i] = spec.Instructions[i];
        // Loading marks every map reference as a pseudo map load (BpfProgram.Load does the same).
        foreach (var reference in spec.MapReferences)
        {
            var pseudo = reference.IsValue ? OpCodes.PseudoMapValue : OpCodes.PseudoMapFd;
            instructions[reference.InstructionIndex] = instructions[reference.InstructionIndex].WithSource((Register)pseudo);
        }
        for (var i = 0; i + 1 < instructions.Length; i++)
        {
            var first = instructions[i];
            if (!first.IsLoadImm64)
                continue;
            if ((byte)first.Source is OpCodes.PseudoMapFd or OpCodes.PseudoMapValue)
            {
                instructions[i] = first.WithImmediate(0);
                instructions[i + 1] = instructions[i + 1].WithImmediate(0);
            }
            i++; // The second slot of an LD_IMM64 is never an instruction of its own.
        }
        return MemoryMarshal.AsBytes(instructions.AsSpan()).ToArray();
    }
}
