using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using SkLookup.Bpf;
using SkLookup.DataPlane;

namespace SkLookup.Benchmarks.Dispatching;

/// <summary>
/// SkLookup's dispatcher program loaded for a benchmark without the control plane: its maps created
/// unpinned, the shape derived from the bindings, the ports map filled, and the program generated and
/// loaded with its probe tables. Sockets registered here are held until <see cref="Dispose"/>, because
/// a socket that the garbage collector closes drops out of the SOCKMAP.
/// </summary>
internal sealed class DispatcherFixture : IDisposable
{
    /// <summary>From how many probes a hashed class is searched (the library's threshold unless --search-threshold says otherwise).</summary>
    public static int SearchThreshold { get; set; } = LengthSearch.Threshold;

    private readonly Dictionary<string, BpfMap> _maps;
    private readonly List<Socket> _sockets = [];

    private DispatcherFixture(Dictionary<string, BpfMap> maps, BpfProgram program, DispatcherShape shape, TimeSpan buildTime)
    {
        _maps = maps;
        Program = program;
        Shape = shape;
        BuildTime = buildTime;
    }

    /// <summary>The loaded program.</summary>
    public BpfProgram Program { get; }

    /// <summary>What the program was generated for.</summary>
    public DispatcherShape Shape { get; }

    /// <summary>How long deriving the shape, filling the maps and loading the program took.</summary>
    public TimeSpan BuildTime { get; }

    /// <summary>Loads the dispatcher for <paramref name="bindings"/> (with their destination ids).</summary>
    public static DispatcherFixture Load(IReadOnlyList<(Binding Binding, uint DestinationId)> bindings)
    {
        var clock = Stopwatch.StartNew();
        var maps = new Dictionary<string, BpfMap>();
        try
        {
            foreach (var spec in DispatcherLayout.PinnedMaps)
                maps[spec.Name] = BpfMap.Create(spec);
            var matches = new List<(BindingMatch Match, uint DestinationId)>(bindings.Count);
            var portBits = new uint[65536];
            foreach (var (binding, id) in bindings)
            {
                matches.Add((binding.Match, id));
                if (binding.Port != 0)
                    portBits[binding.Port] |= TrafficClasses.Of(binding.Family, binding.Protocol).PortBit();
            }
            WritePorts(maps[DispatcherLayout.Ports.Name], portBits);
            // The program reads the ports map, the sockets, metrics and options; the binding hash maps are the
            // control plane's listing and are left empty here.
            var shape = DispatcherShape.From(matches, searchThreshold: SearchThreshold);
            var program = DispatcherLoader.Load(shape, maps);
            return new DispatcherFixture(maps, program, shape, clock.Elapsed);
        }
        catch
        {
            foreach (var map in maps.Values)
                map.Dispose();
            throw;
        }
    }

    private static void WritePorts(BpfMap ports, uint[] bits)
    {
        var keys = new List<uint>();
        var values = new List<uint>();
        for (var port = 0; port < bits.Length; port++)
        {
            if (bits[port] == 0)
                continue;
            keys.Add((uint)port);
            values.Add(bits[port]);
        }
        if (keys.Count > 0)
            ports.UpdateBatch(MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(keys)), MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(values)));
    }

    /// <summary>Registers <paramref name="socket"/> as destination <paramref name="id"/>'s socket and holds it.</summary>
    public void RegisterSocket(uint id, Socket socket)
    {
        _maps[DispatcherLayout.Sockets.Name].UpdateSocket(BitConverter.GetBytes(id), new FileDescriptor((int)socket.Handle, ownsHandle: false));
        _sockets.Add(socket);
    }

    /// <summary>The cookie of destination <paramref name="id"/>'s socket.</summary>
    public ulong SocketCookie(uint id) => _maps[DispatcherLayout.Sockets.Name].LookupSocketCookie(BitConverter.GetBytes(id))
        ?? throw new InvalidOperationException($"destination {id} has no socket");

    public void Dispose()
    {
        Program.Dispose();
        foreach (var map in _maps.Values)
            map.Dispose();
        // The sockets belong to the caller (and close with it); the list only kept them reachable until now.
        GC.KeepAlive(_sockets);
    }
}
