using System.Net;
using System.Text.Json;
using SkLookup.TestKit;

namespace SkLookup.Cli.Tests;

/// <summary>
/// Day-2 tasks under a bounded connect loop, as an operator runs them: moving a binding to another label
/// (<c>bind --replace</c>), and replacing a label's server (register the new socket, then stop the old
/// server). Every connection must reach a server: none may be refused.
/// </summary>
public sealed class DayTwoTests : IDisposable
{
    private const byte Blue = (byte)'B', Green = (byte)'G';
    private readonly Sandbox _sandbox = new();

    public DayTwoTests() => _sandbox.NetNs.AddLocalRoute("192.0.2.0/24");

    public void Dispose() => _sandbox.Dispose();

    private static IPEndPoint Web(int attempt) => new(IPAddress.Parse($"192.0.2.{1 + attempt % 250}"), 80);

    private void Register(TaggedServer server, string label) =>
        _sandbox.Run("register-pid", Environment.ProcessId.ToString(), label, "tcp", "127.0.0.1", ((IPEndPoint)server.Listener.LocalEndPoint!).Port.ToString()).AssertOk();

    /// <summary>
    /// Fillers put the tcp4 bindings in a class of their own size: with none, the move swaps in a new program
    /// (decision trees); with 600, it rewrites one slot of the program's probe table in place.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(600)]
    public void BindReplaceMovesABindingWithoutRefusingAConnection(int fillers)
    {
        using var blue = new TaggedServer(_sandbox.NetNs, new IPEndPoint(IPAddress.Loopback, 8081), Blue);
        using var green = new TaggedServer(_sandbox.NetNs, new IPEndPoint(IPAddress.Loopback, 8082), Green);
        _sandbox.Run("load").AssertOk();
        Register(blue, "blue");
        Register(green, "green");
        if (fillers > 0)
        {
            var file = Path.GetTempFileName();
            var entries = Enumerable.Range(0, fillers).Select(i => new { label = "filler", protocol = "tcp", prefix = $"198.18.{i / 256}.{i % 256}", port = 80 })
                .Append(new { label = "blue", protocol = "tcp", prefix = "192.0.2.0/24", port = 80 });
            File.WriteAllText(file, JsonSerializer.Serialize(new { bindings = entries }));
            try
            {
                _sandbox.Run("apply", file).AssertOk();
            }
            finally
            {
                File.Delete(file);
            }
        }
        else
        {
            _sandbox.Run("bind", "blue", "tcp", "192.0.2.0/24", "80").AssertOk();
        }

        using var loop = new ConnectLoop(_sandbox.NetNs, Web);
        loop.WaitFor(() => loop.AnsweredBy(Blue) >= 20, "connections to blue");
        var duringMoves = 0;
        for (var move = 0; move < 10; move++)
        {
            var (label, tag, server) = move % 2 == 0 ? ("green", Green, green) : ("blue", Blue, blue);
            var before = loop.Attempts;
            var served = server.Served;
            var result = _sandbox.Run("bind", label, "tcp", "192.0.2.0/24", "80", "--replace", "--json").AssertOk().Json();
            duringMoves += loop.Attempts - before;
            Assert.Equal(move % 2 == 0 ? "blue" : "green", result.GetProperty("replacedLabel").GetString());
            loop.WaitFor(() => server.Served >= served + 10, $"connections to {label} after move {move}");
        }
        loop.Stop();

        Assert.Equal(0, loop.Refused);
        Assert.Empty(loop.Failures);
        Assert.True(duringMoves > 0, "no connection was attempted while a move ran, so the test proved nothing");
        Assert.True(loop.AnsweredBy(Green) > 0 && loop.AnsweredBy(Blue) > 0);
        var bindings = _sandbox.Run("bindings", "--json", "--all").AssertOk().Json().GetProperty("bindings");
        Assert.Equal(fillers + 1, bindings.GetArrayLength());
        Assert.Contains(bindings.EnumerateArray(), b => b.GetProperty("prefix").GetString() == "192.0.2.0/24" && b.GetProperty("label").GetString() == "blue");
    }

    [Fact]
    public void ReplacingALabelsServerRefusesNoConnection()
    {
        _sandbox.Run("load").AssertOk();
        _sandbox.Run("bind", "web", "tcp", "192.0.2.0/24", "80").AssertOk();
        var current = new TaggedServer(_sandbox.NetNs, new IPEndPoint(IPAddress.Loopback, 8100), Blue);
        var stopped = new List<TaggedServer>();
        try
        {
            Register(current, "web");
            using var loop = new ConnectLoop(_sandbox.NetNs, Web);
            loop.WaitFor(() => current.Served >= 20, "connections to the first server");
            var duringReplacements = 0;
            for (var round = 1; round <= 6; round++)
            {
                // The recipe of 'sklookup register --help': start the new server, register its socket, then stop the old one.
                var next = new TaggedServer(_sandbox.NetNs, new IPEndPoint(IPAddress.Loopback, 8100 + round), round % 2 == 0 ? Blue : Green);
                var before = loop.Attempts;
                Register(next, "web");
                duringReplacements += loop.Attempts - before;
                var old = current;
                current = next;
                stopped.Add(old);
                old.Stop();
                loop.WaitFor(() => next.Served >= 10, $"connections to server {round}");
            }
            loop.Stop();

            Assert.Equal(0, loop.Refused);
            Assert.Empty(loop.Failures);
            Assert.True(duringReplacements > 0, "no connection was attempted while a socket was replaced, so the test proved nothing");
            Assert.All(stopped, server => Assert.True(server.Served > 0));
        }
        finally
        {
            current.Dispose();
            foreach (var server in stopped)
                server.Dispose();
        }
    }
}
