using System.Globalization;
using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf;
using SkLookup.Bpf.Asm;

namespace SkLookup;

/// <summary>
/// The library side of <c>sklookup explain</c>: runs a packet through every sk_lookup program attached
/// in a namespace, the way the kernel combines them, and says which binding, label and socket it meets.
/// </summary>
public static class Explainer
{
    private static readonly IPEndPoint DefaultSource4 = new(IPAddress.Parse("203.0.113.254"), 40000);
    private static readonly IPEndPoint DefaultSource6 = new(IPAddress.Parse("2001:db8:ffff::fe"), 40000);

    /// <summary>
    /// Explains where a packet of <paramref name="protocol"/> to <paramref name="destination"/> (from
    /// <paramref name="source"/>, or a documentation address) would go in <paramref name="netns"/>.
    /// It changes nothing, apart from the counters that the test runs increment.
    /// </summary>
    /// <remarks>
    /// The kernel runs every program; before each, <c>ctx-&gt;sk</c> holds the last selection of a program
    /// that passed, a selection made by a program that drops is discarded, and in the end the last
    /// selection wins, else a drop drops, else the normal lookup goes on. A test run always starts with no
    /// selection, so a program that behaves differently when an earlier one selected a socket (it needs
    /// <c>BPF_SK_LOOKUP_F_REPLACE</c> to override it) is shown as it would run alone.
    /// </remarks>
    public static Explanation Explain(NetworkNamespace netns, string bpffsPath, Protocol protocol, IPEndPoint destination, IPEndPoint? source)
    {
        ArgumentNullException.ThrowIfNull(netns);
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.Address.IsIPv4MappedToIPv6)
            destination = new IPEndPoint(destination.Address.MapToIPv4(), destination.Port);
        source ??= destination.AddressFamily == AddressFamily.InterNetwork ? DefaultSource4 : DefaultSource6;
        if (source.AddressFamily != destination.AddressFamily)
            throw new ArgumentException($"source {source} and destination {destination} are of different families", nameof(source));

        Dispatcher? dispatcher = null;
        try
        {
            try
            {
                dispatcher = Dispatcher.Open(netns, bpffsPath);
            }
            catch (SteeringException exception) when (exception.Error == SteeringError.NotLoaded)
            {
                // No dispatcher: the other programs still decide.
            }
            var dispatcherProgramId = dispatcher?.Program.Id;
            Binding? binding = null;
            uint? destinationId = null;
            ulong? registered = null;
            if (dispatcher is not null)
            {
                binding = BindingTable.Lookup(dispatcher.Bindings(), protocol, destination.Address, (ushort)destination.Port);
                if (binding is not null && dispatcher.DestinationIdOf(binding.Match) is { } id)
                {
                    destinationId = id;
                    registered = dispatcher.SocketCookieOf(id);
                }
            }

            var input = new SkLookupTestInput(protocol == Protocol.Tcp ? ProtocolType.Tcp : ProtocolType.Udp, source, destination);
            var programs = new List<ProgramVerdict>();
            ulong selected = 0;
            var dropped = false;
            foreach (var programId in netns.QueryPrograms())
            {
                var verdict = Run(programId, input, programId == dispatcherProgramId, registered);
                programs.Add(verdict);
                if (verdict.Verdict == SkAction.Pass && verdict.SelectedSocketCookie != 0)
                    selected = verdict.SelectedSocketCookie;
                else if (verdict.Verdict == SkAction.Drop)
                    dropped = true;
            }
            var outcome = selected != 0 ? ExplainVerdict.Delivered : dropped ? ExplainVerdict.Dropped : ExplainVerdict.NormalLookup;
            var delivered = selected != 0 ? selected : (ulong?)null;
            return new Explanation(protocol, destination, source, programs, binding, destinationId, registered, outcome, delivered,
                delivered is { } cookie ? FindOwner(cookie) : null);
        }
        finally
        {
            dispatcher?.Dispose();
        }
    }

    private static ProgramVerdict Run(uint programId, SkLookupTestInput input, bool isDispatcher, ulong? registered)
    {
        BpfProgram program;
        try
        {
            program = BpfProgram.OpenById(programId);
        }
        catch (BpfException exception)
        {
            return new ProgramVerdict(programId, "?", isDispatcher, null, 0, $"cannot open it: {exception.Message}");
        }
        using (program)
        {
            try
            {
                var result = program.TestRun(input);
                return new ProgramVerdict(programId, program.Info.Name, isDispatcher, result.Verdict, result.SelectedSocketCookie, null);
            }
            catch (BpfException exception) when (exception.Reason == BpfErrorReason.NotSupported && isDispatcher && registered is { } cookie)
            {
                // The dispatcher selected a reuseport socket, which a test run cannot follow; which socket it
                // selects is known from its maps, and the kernel then picks a member of the group.
                return new ProgramVerdict(programId, program.Info.Name, isDispatcher, SkAction.Pass, cookie,
                    "selects a reuseport group: the kernel picks one member per flow");
            }
            catch (BpfException exception)
            {
                return new ProgramVerdict(programId, program.Info.Name, isDispatcher, null, 0, $"cannot test-run it: {exception.Message}");
            }
        }
    }

    /// <summary>
    /// The process that holds the socket with <paramref name="cookie"/> (<see cref="SocketFromProcess.FindOwners"/>):
    /// best effort, null if none is found or allowed.
    /// </summary>
    private static string? FindOwner(ulong cookie) =>
        SocketFromProcess.FindOwners([cookie]).TryGetValue(cookie, out var owners)
            ? string.Create(CultureInfo.InvariantCulture, $"pid {owners[0].ProcessId} ({owners[0].Command}) fd {owners[0].Fd}")
            : null;
}
