using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf;
using SkLookup.TestKit;

namespace SkLookup.Tests.ControlPlane;

/// <summary>A fresh namespace and bpffs for one test, with a loaded dispatcher and helpers to check it.</summary>
internal sealed class Scenario : IDisposable
{
    public Scenario(bool load = true)
    {
        NetNs = new TestNetNs();
        try
        {
            BpfFs = new TestBpfFs();
            if (load)
                Dispatcher = SkLookup.Dispatcher.Load(NetNs.Namespace, BpfFs.Path);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public TestNetNs NetNs { get; }

    public TestBpfFs BpfFs { get; } = null!;

    /// <summary>The writable dispatcher the scenario loaded (null when constructed without loading).</summary>
    public Dispatcher? Dispatcher { get; set; }

    public Dispatcher D => Dispatcher ?? throw new InvalidOperationException("not loaded");

    public string StatePath => Path.Combine(BpfFs.Path, "sklookup", NetNs.Namespace.Inode.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Closes the scenario's dispatcher, releasing its lock.</summary>
    public void Close()
    {
        Dispatcher?.Dispose();
        Dispatcher = null;
    }

    public Dispatcher Open(bool write = false, TimeSpan? timeout = null) => SkLookup.Dispatcher.Open(NetNs.Namespace, BpfFs.Path, write, timeout);

    /// <summary>Test-runs the attached program for a packet to <paramref name="destination"/>.</summary>
    public SkLookupTestResult Run(Protocol protocol, string destination, ushort port)
    {
        using var link = NetNsLink.OpenPinned(Path.Combine(StatePath, "link"));
        using var program = BpfProgram.OpenById(link.ReadInfo().ProgramId);
        return Run(program, protocol, destination, port);
    }

    public static SkLookupTestResult Run(BpfProgram program, Protocol protocol, string destination, ushort port)
    {
        var address = IPAddress.Parse(destination);
        var source = address.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Parse("203.0.113.9") : IPAddress.Parse("2001:db8:ffff::9");
        var input = new SkLookupTestInput(protocol == Protocol.Tcp ? ProtocolType.Tcp : ProtocolType.Udp,
            new IPEndPoint(source, 40000), new IPEndPoint(address, port));
        return program.TestRun(input);
    }

    public static Binding B(string label, string protocol, string prefix, string port) => Binding.Parse(label, protocol, prefix, port);

    public void Dispose()
    {
        Close();
        BpfFs?.Dispose();
        NetNs.Dispose();
    }
}
