using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf;
using SkLookup.DataPlane;

namespace SkLookup.Tests.DataPlane;

/// <summary>
/// The dispatcher's maps and generated program, filled by hand (no control plane), for testing the
/// generator in isolation with test runs and real traffic.
/// </summary>
internal sealed class DispatcherHarness : IDisposable
{
    private readonly Dictionary<string, BpfMap> _maps = [];
    private readonly Dictionary<string, uint> _ids = [];

    public DispatcherHarness()
    {
        try
        {
            foreach (var spec in DispatcherLayout.PinnedMaps)
                _maps[spec.Name] = BpfMap.Create(spec);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public List<Binding> Bindings { get; } = [];

    public BpfProgram? Program { get; private set; }

    public DispatcherShape Shape { get; private set; } = DispatcherShape.Empty;

    public BpfMap Map(MapSpec spec) => _maps[spec.Name];

    /// <summary>The destination id of a label in a class (allocated on first use).</summary>
    public uint Id(string label, Family family, Protocol protocol)
    {
        var key = $"{label}/{family}/{protocol}";
        if (!_ids.TryGetValue(key, out var id))
            _ids[key] = id = (uint)_ids.Count;
        return id;
    }

    public void Bind(params Binding[] bindings)
    {
        foreach (var binding in bindings)
        {
            var id = Id(binding.Label, binding.Family, binding.Protocol);
            var map = binding.Family == Family.IPv4 ? Map(DispatcherLayout.Bindings4) : Map(DispatcherLayout.Bindings6);
            map.Update(BindingKey.Encode(binding.Match), BitConverter.GetBytes(id));
            if (binding.Port != 0)
            {
                var ports = Map(DispatcherLayout.Ports);
                var key = BitConverter.GetBytes((uint)binding.Port);
                var bits = BitConverter.ToUInt32(ports.Lookup(key)!) | TrafficClasses.Of(binding.Family, binding.Protocol).PortBit();
                ports.Update(key, BitConverter.GetBytes(bits));
            }
            Bindings.Add(binding);
        }
    }

    /// <summary>Generates and loads the program for the current bindings.</summary>
    public BpfProgram Load(int inlineLimit = DispatcherShape.InlineLimit)
    {
        Shape = DispatcherShape.From(Bindings.Select(b => (b.Match, Id(b.Label, b.Family, b.Protocol))), inlineLimit);
        var program = DispatcherLoader.Load(Shape, _maps);
        Program?.Dispose();
        return Program = program;
    }

    /// <summary>Applies a change to the loaded program's tables without reloading it; false when a reload is needed.</summary>
    public bool UpdateInPlace(Binding[] removed, Binding[] added, int inlineLimit)
    {
        var loaded = Shape.Fingerprint;
        foreach (var binding in removed)
        {
            Bindings.Remove(binding);
            (binding.Family == Family.IPv4 ? Map(DispatcherLayout.Bindings4) : Map(DispatcherLayout.Bindings6)).Delete(BindingKey.Encode(binding.Match));
        }
        foreach (var binding in removed)
        {
            // As the control plane does: a port's bit goes when the class has no binding left on the port.
            var trafficClass = TrafficClasses.Of(binding.Family, binding.Protocol);
            if (binding.Port != 0 && !Bindings.Any(b => b.Port == binding.Port && TrafficClasses.Of(b.Family, b.Protocol) == trafficClass))
            {
                var ports = Map(DispatcherLayout.Ports);
                var key = BitConverter.GetBytes((uint)binding.Port);
                ports.Update(key, BitConverter.GetBytes(BitConverter.ToUInt32(ports.Lookup(key)!) & ~trafficClass.PortBit()));
            }
        }
        Bind(added);
        Shape = DispatcherShape.From(Bindings.Select(b => (b.Match, Id(b.Label, b.Family, b.Protocol))), inlineLimit);
        return DispatcherLoader.TryUpdateInPlace(Program!, loaded, Shape, removed.Select(b => b.Match),
            added.Select(b => (b.Match, Id(b.Label, b.Family, b.Protocol))));
    }

    public void Register(string label, Family family, Protocol protocol, Socket socket) =>
        Map(DispatcherLayout.Sockets).UpdateSocket(BitConverter.GetBytes(Id(label, family, protocol)), new FileDescriptor((int)socket.Handle, ownsHandle: false));

    public void SetFallThrough(string label, Family family, Protocol protocol) =>
        Map(DispatcherLayout.DestinationOptions).Update(BitConverter.GetBytes(Id(label, family, protocol)), BitConverter.GetBytes((uint)DestinationFlags.FallThrough));

    public DestinationCounters Counters(string label, Family family, Protocol protocol)
    {
        var sums = Map(DispatcherLayout.Metrics).SumPerCpu(BitConverter.GetBytes(Id(label, family, protocol)));
        return new DestinationCounters { Lookups = sums[0], Misses = sums[1], Errors = sums[2] };
    }

    public SkLookupTestResult Run(Protocol protocol, string destination, ushort port)
    {
        var address = IPAddress.Parse(destination);
        var source = address.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Parse("203.0.113.9") : IPAddress.Parse("2001:db8:ffff::9");
        var input = new SkLookupTestInput(protocol == Protocol.Tcp ? ProtocolType.Tcp : ProtocolType.Udp, new IPEndPoint(source, 40000), new IPEndPoint(address, port));
        return Program!.TestRun(input);
    }

    /// <summary>Registers one socket per label and class that the bindings use; returns their cookies by (label, family, protocol).</summary>
    public Dictionary<(string, Family, Protocol), (Socket Socket, ulong Cookie)> RegisterEverySocket(SkLookup.TestKit.TestNetNs netns, int firstPort = 10000)
    {
        var sockets = new Dictionary<(string, Family, Protocol), (Socket, ulong)>();
        var port = firstPort;
        foreach (var binding in Bindings)
        {
            var key = (binding.Label, binding.Family, binding.Protocol);
            if (sockets.ContainsKey(key))
                continue;
            var local = new IPEndPoint(binding.Family == Family.IPv4 ? IPAddress.Loopback : IPAddress.IPv6Loopback, port++);
            var socket = binding.Protocol == Protocol.Tcp ? netns.Listen(local) : netns.BindUdp(local);
            Register(binding.Label, binding.Family, binding.Protocol, socket);
            sockets[key] = (socket, Map(DispatcherLayout.Sockets).LookupSocketCookie(BitConverter.GetBytes(Id(binding.Label, binding.Family, binding.Protocol)))!.Value);
        }
        return sockets;
    }

    public void Dispose()
    {
        Program?.Dispose();
        foreach (var map in _maps.Values)
            map.Dispose();
    }
}
