using SkLookup.Bpf;
using SkLookup.Bpf.Asm;

namespace SkLookup.Cli.Tests;

/// <summary>Small programs the tests pin for the <c>prog</c> commands.</summary>
internal static class TestPrograms
{
    /// <summary>Loads an sk_lookup program that passes every lookup, and pins it at <paramref name="path"/>.</summary>
    public static uint PinPassAll(string path, string name = "pass_all")
    {
        using var program = BpfProgram.Load(new Assembler().Return(SkAction.Pass).Build(name));
        program.Pin(path);
        return program.Info.Id;
    }

    /// <summary>Loads a socket filter (not sk_lookup) and pins it at <paramref name="path"/>.</summary>
    public static void PinSocketFilter(string path)
    {
        var spec = new Assembler().Mov(Register.R0, 0).Exit().Build("filter", ProgramType.SocketFilter, AttachType.None);
        using var program = BpfProgram.Load(spec);
        program.Pin(path);
    }

    /// <summary>Creates an array map and pins it at <paramref name="path"/>.</summary>
    public static void PinMap(string path)
    {
        using var map = BpfMap.Create(new MapSpec { Name = "some_map", Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1 });
        map.Pin(path);
    }
}
