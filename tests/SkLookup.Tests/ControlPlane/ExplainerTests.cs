using System.Net;
using SkLookup.Bpf;
using SkLookup.Bpf.Asm;

namespace SkLookup.Tests.ControlPlane;

/// <summary>Explanations of where a packet goes, across the dispatcher and other programs.</summary>
public sealed class ExplainerTests
{
    [Fact]
    public void ExplainsDeliveryDropAndNormalLookup()
    {
        using var scenario = new Scenario();
        using var web = scenario.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        var d = scenario.D;
        d.RegisterSocket("web", web);
        d.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));
        d.AddBinding(Scenario.B("nobody", "tcp", "192.0.2.0/24", "81"));
        var programId = d.Program.Id;
        scenario.Close();

        var delivered = Explain(scenario, Protocol.Tcp, "192.0.2.1:80");
        Assert.Equal(ExplainVerdict.Delivered, delivered.Verdict);
        Assert.Equal(SocketCookie.Read(web), delivered.DeliveredSocketCookie);
        Assert.Equal(Scenario.B("web", "tcp", "192.0.2.0/24", "80"), delivered.Binding);
        Assert.Equal(SocketCookie.Read(web), delivered.RegisteredSocketCookie);
        var program = Assert.Single(delivered.Programs);
        Assert.Equal((programId, true, SkAction.Pass), (program.ProgramId, program.IsDispatcher, program.Verdict));
        Assert.StartsWith($"pid {Environment.ProcessId} (", delivered.SocketOwner);
        Assert.Contains("delivered to socket cookie", delivered.ToString());

        var dropped = Explain(scenario, Protocol.Tcp, "192.0.2.1:81");
        Assert.Equal(ExplainVerdict.Dropped, dropped.Verdict);
        Assert.Equal("nobody", dropped.Binding?.Label);
        Assert.Null(dropped.RegisteredSocketCookie);

        var normal = Explain(scenario, Protocol.Udp, "192.0.2.1:80");
        Assert.Equal(ExplainVerdict.NormalLookup, normal.Verdict);
        Assert.Null(normal.Binding);
    }

    [Fact]
    public void CombinesProgramsAsTheKernelDoes()
    {
        using var scenario = new Scenario();
        using var web = scenario.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        scenario.D.RegisterSocket("web", web);
        scenario.D.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));
        scenario.Close();
        // A second program that drops everything: it discards only its own selection.
        using var dropAll = BpfProgram.Load(new Assembler().Return(SkAction.Drop).Build("drop_all"));
        using var link = NetNsLink.Attach(dropAll, scenario.NetNs.Namespace);

        var steered = Explain(scenario, Protocol.Tcp, "192.0.2.1:80");
        Assert.Equal(ExplainVerdict.Delivered, steered.Verdict);
        Assert.Equal([SkAction.Pass, SkAction.Drop], steered.Programs.Select(p => p.Verdict));
        Assert.Equal([true, false], steered.Programs.Select(p => p.IsDispatcher));

        var other = Explain(scenario, Protocol.Tcp, "192.0.2.1:443");
        Assert.Equal(ExplainVerdict.Dropped, other.Verdict);
    }

    [Fact]
    public void ReuseportGroupIsExplainedFromTheMaps()
    {
        using var scenario = new Scenario();
        using var member = scenario.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8080), reusePort: true);
        scenario.D.RegisterSocket("web", member);
        scenario.D.AddBinding(Scenario.B("web", "tcp", "192.0.2.0/24", "80"));
        scenario.Close();
        var explanation = Explain(scenario, Protocol.Tcp, "192.0.2.1:80");
        Assert.Equal(ExplainVerdict.Delivered, explanation.Verdict);
        Assert.Equal(SocketCookie.Read(member), explanation.DeliveredSocketCookie);
        Assert.Contains("reuseport", explanation.Programs.Single().Note);
    }

    [Fact]
    public void WithoutDispatcherOtherProgramsDecide()
    {
        using var scenario = new Scenario(load: false);
        var nothing = Explain(scenario, Protocol.Udp, "[2001:db8::1]:53");
        Assert.Equal(ExplainVerdict.NormalLookup, nothing.Verdict);
        Assert.Empty(nothing.Programs);
        Assert.Contains("no sk_lookup program is attached", nothing.ToString());
    }

    private static Explanation Explain(Scenario scenario, Protocol protocol, string destination) =>
        Explainer.Explain(scenario.NetNs.Namespace, scenario.BpfFs.Path, protocol, IPEndPoint.Parse(destination), null);
}
